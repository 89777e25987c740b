import type { ApplianceClient } from '../../../functions/kinds/appliance/client';
import {
  checkRestore,
  isRebootSymptom,
  readRestoreBaseline,
  requestRestore,
  startRestorePoll,
  type RestoreBaseline,
  type RestoreStarted,
} from '../../../functions/kinds/appliance/restore-run';
import { RestoreFailed, TransientApiError, VendorApiError } from '../../../functions/shared/errors';
import { RebootWindowExceeded } from '../../../functions/kinds/appliance/errors';
import type { ApplianceSimulator, ApplianceSimulatorOptions } from '../../../bin/sandbox/appliance';
import { clock, handWrittenAppliance, sleep, startQuickSimulator, target } from '../../support/appliance';

const NO_RESTORE_YET = { previousStatus: 'not_run', previousRestoreTime: 0 };

describe('appliance restore run against the appliance simulator', () => {
  let simulator: ApplianceSimulator;
  let client: ApplianceClient;

  async function start(options: ApplianceSimulatorOptions = {}, timeoutMs?: number): Promise<void> {
    ({ simulator, client } = await startQuickSimulator(options, timeoutMs));
  }

  afterEach(async () => {
    await simulator.stop();
  });

  describe('requestRestore and checkRestore', () => {
    async function restoreFirstBackup(): Promise<RestoreStarted & RestoreBaseline> {
      const baseline = await readRestoreBaseline(client);
      const started = await requestRestore(client, simulator.backups()[0]?.id ?? '', baseline, clock);
      return { ...baseline, ...started };
    }
    const fresh = () => ({ poll: startRestorePoll(target), unreachableChecks: 0 });

    test('an appliance that is rebooting within the window is phase "rebooting"', async () => {
      // Prepare
      await start({ seedBackups: 1, rebootWindowMs: 10_000 });
      const started = await restoreFirstBackup();

      // Act
      const progress = await checkRestore(client, target, started, fresh(), clock);

      // Assess
      expect(started).toMatchObject({ acknowledged: true, previousRestoreTime: 0, previousStatus: 'not_run' });
      expect(progress).toMatchObject({ phase: 'rebooting', status: null, unreachableChecks: 1 });
    });

    test.each(['503', '502'] as const)('a front web server answering %s for the rebooting appliance is phase "rebooting"', async (rebootBehaviour) => {
      // Prepare
      await start({ seedBackups: 1, rebootWindowMs: 10_000, rebootBehaviour });
      const started = await restoreFirstBackup();

      // Act / Assess
      await expect(checkRestore(client, target, started, fresh(), clock)).resolves.toMatchObject({ phase: 'rebooting' });
    });

    test('an appliance that does not answer while rebooting is phase "rebooting"', async () => {
      // Prepare
      await start({ seedBackups: 1, rebootWindowMs: 10_000, rebootBehaviour: 'hang' }, 300);
      const started = await restoreFirstBackup();

      // Act / Assess
      await expect(checkRestore(client, target, started, fresh(), clock)).resolves.toMatchObject({ phase: 'rebooting' });
    });

    test('still unreachable beyond the reboot window is RebootWindowExceeded', async () => {
      // Prepare
      await start({ seedBackups: 1, rebootWindowMs: 10_000 });
      const started = await restoreFirstBackup();
      const later = () => new Date((started.requestedAt + 31 * 60) * 1000);

      // Act
      const failure = checkRestore(client, target, started, fresh(), later);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(RebootWindowExceeded);
      await expect(failure).rejects.toThrow('Appliance "ar11-lab" is still unreachable 31 min after the restore was requested (restore.rebootWindowMinutes is 30)');
    });

    test('the previous restore\'s status shown after the reboot is phase "waiting", then the new one completes', async () => {
      // Prepare: the status service reports an earlier failed restore for one more read.
      await start({ seedBackups: 1, previousRestore: { status: 'failed', last_restore_time: Math.floor(Date.now() / 1000) - 3600 } });
      simulator.setStaleRestoreStatusReads(1);
      const started = await restoreFirstBackup();
      await sleep(250);

      // Act
      const first = await checkRestore(client, target, started, fresh(), clock);
      const second = await checkRestore(client, target, started, first, clock);

      // Assess
      expect(first).toMatchObject({ phase: 'waiting', status: 'failed' });
      expect(second).toMatchObject({ phase: 'completed', status: 'completed', lastRestoreTime: simulator.restores[0]?.startedAt });
      expect(second.poll.attempt).toBe(2);
    });

    test('completed_with_errors is RestoreFailed carrying the status_message', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      simulator.setRestoreOutcome('completed_with_errors', 'Restore completed with errors: SNMP settings could not be applied');
      const started = await restoreFirstBackup();
      await sleep(250);

      // Act
      const failure = checkRestore(client, target, started, fresh(), clock);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(RestoreFailed);
      await expect(failure).rejects.toThrow('reports the restore completed_with_errors: Restore completed with errors: SNMP settings could not be applied');
    });

    test('failed is RestoreFailed carrying the status_message', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      simulator.setRestoreOutcome('failed');
      const started = await restoreFirstBackup();
      await sleep(250);

      // Act / Assess
      await expect(checkRestore(client, target, started, fresh(), clock)).rejects.toThrow(
        'reports the restore failed: Restore failed: the backup could not be applied; the previous configuration is still active',
      );
    });

    test('a restore in the second of the previous one, reported after its reboot exactly as that one was, is completed', async () => {
      // Prepare: the previous restore, pinned to the same second, has completed and the appliance is back.
      await start({ seedBackups: 1 });
      simulator.pinRestoreTime(Math.floor(Date.now() / 1000));
      await restoreFirstBackup();
      await sleep(250);
      const started = await restoreFirstBackup();

      // Act
      const duringReboot = await checkRestore(client, target, started, fresh(), clock);
      await sleep(250);
      const after = await checkRestore(client, target, started, duringReboot, clock);

      // Assess
      const second = simulator.restores[0]?.startedAt;
      expect(started).toMatchObject({ previousStatus: 'completed', previousRestoreTime: second, restoreTime: second });
      expect(duringReboot).toMatchObject({ phase: 'rebooting' });
      expect(after).toMatchObject({ phase: 'completed', status: 'completed', lastRestoreTime: second });
    });
  });
});

describe('requestRestore and checkRestore against a hand-written appliance', () => {
  const handWritten = handWrittenAppliance();
  const client = handWritten.client;

  test('a 502 answering the restore request is taken as the appliance rebooting: not acknowledged, not failed', async () => {
    // Prepare
    handWritten.answer = () => ({ status: 502, body: '<html>Bad Gateway</html>' });

    // Act
    const started = await requestRestore(client(), 'b-1', NO_RESTORE_YET, () => new Date('2026-03-21T09:00:00Z'));

    // Assess
    expect(started).toMatchObject({ requestedAt: Date.parse('2026-03-21T09:00:00Z') / 1000, acknowledged: false });
    expect(started.note).toMatch(/^The answer to the restore request was lost \(start restore of appliance backup b-1 failed: HTTP 502/);
  });

  test('a 409 answering the restore request is an error', async () => {
    // Prepare
    handWritten.answer = () => ({ status: 409, body: { error_id: 'BACKUP_NOT_COMPLETED', error_text: 'Backup is started' } });

    // Act / Assess
    await expect(requestRestore(client(), 'b-1', NO_RESTORE_YET, clock)).rejects.toMatchObject({ name: 'VendorApiError', status: 409 });
  });

  test('a 500 answering the restore request is not acknowledged either: restore_status decides, nothing is repeated', async () => {
    // Prepare
    handWritten.answer = () => ({ status: 500, body: { error_id: 'INTERNAL', error_text: 'restore daemon went away' } });

    // Act
    const started = await requestRestore(client(), 'b-1', NO_RESTORE_YET, clock);

    // Assess
    expect(started).toMatchObject({ acknowledged: false });
  });

  test('a restore still running on the appliance refuses a new one before any request', async () => {
    // Prepare
    let calls = 0;
    handWritten.answer = () => {
      calls += 1;
      return { status: 202, body: {} };
    };

    // Act
    const refused = requestRestore(client(), 'b-1', { previousStatus: 'started', previousRestoreTime: 1_700_000_000 }, clock);

    // Assess
    await expect(refused).rejects.toMatchObject({ name: 'RestoreInProgress' });
    expect(calls).toBe(0);
  });

  describe('a restore the appliance puts in the second of the previous one', () => {
    const fresh = () => ({ poll: startRestorePoll(target), unreachableChecks: 0 });
    /** restore_status answers these in turn (the first is the baseline); the restore request answers `started` at `second`, or 502. */
    function appliance(second: number, reads: Array<{ status: number; body?: unknown }>, requestAnswer: 'started' | 502 = 'started'): void {
      handWritten.answer = (method, path) => {
        if (method === 'POST' && path.endsWith('/restore')) {
          return requestAnswer === 502 ? { status: 502, body: 'Bad Gateway' } : { status: 202, body: { last_restore_time: second, status: 'started', status_message: '' } };
        }
        return reads.shift() ?? { status: 500, body: { error_id: 'TEST', error_text: 'no more reads scripted' } };
      };
    }
    async function requested(): Promise<RestoreStarted & RestoreBaseline> {
      const baseline = await readRestoreBaseline(client());
      return { ...baseline, ...(await requestRestore(client(), 'b-1', baseline, clock)) };
    }
    const status = (second: number, value: string, message = '') => ({ status: 200, body: { last_restore_time: second, status: value, status_message: message } });

    test('its status, the same as the previous one\'s, is "waiting" until the appliance is seen reporting another status, then completed', async () => {
      // Prepare: no reboot is seen; the previous restore's status shows once more, then `started`, then the outcome.
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second, 'completed'), status(second, 'completed'), status(second, 'started'), status(second, 'completed')]);
      const started = await requested();

      // Act
      const stale = await checkRestore(client(), target, started, fresh(), clock);
      const running = await checkRestore(client(), target, started, stale, clock);
      const done = await checkRestore(client(), target, started, running, clock);

      // Assess
      expect(started).toMatchObject({ previousRestoreTime: second, previousStatus: 'completed', restoreTime: second, acknowledged: true });
      expect([stale.phase, running.phase, done.phase]).toEqual(['waiting', 'restoring', 'completed']);
    });

    test('its status, the same as the previous one\'s, is completed once the appliance has been seen rebooting', async () => {
      // Prepare
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second, 'completed'), { status: 503, body: 'Service Unavailable' }, status(second, 'completed')]);
      const started = await requested();

      // Act
      const rebooting = await checkRestore(client(), target, started, fresh(), clock);
      const done = await checkRestore(client(), target, started, rebooting, clock);

      // Assess
      expect([rebooting.phase, done.phase]).toEqual(['rebooting', 'completed']);
    });

    test('another outcome in that second is this restore\'s: RestoreFailed with its status_message', async () => {
      // Prepare
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second, 'completed'), status(second, 'failed', 'Restore failed: bad file')]);
      const started = await requested();

      // Act
      const failure = checkRestore(client(), target, started, fresh(), clock);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(RestoreFailed);
      await expect(failure).rejects.toThrow('reports the restore failed: Restore failed: bad file');
    });

    test('with the answer to the request lost, the previous restore\'s status is still "waiting" after the reboot: nothing says this restore is in that second', async () => {
      // Prepare
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second, 'completed'), { status: 503, body: 'Service Unavailable' }, status(second, 'completed')], 502);
      const started = await requested();

      // Act
      const rebooting = await checkRestore(client(), target, started, fresh(), clock);
      const after = await checkRestore(client(), target, started, rebooting, clock);

      // Assess
      expect(started).toMatchObject({ acknowledged: false, restoreTime: null });
      expect([rebooting.phase, after.phase]).toEqual(['rebooting', 'waiting']);
    });

    test('a previous restore from an hour before, shown after the reboot, is "waiting" although the appliance was seen rebooting', async () => {
      // Prepare
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second - 3600, 'completed'), { status: 503, body: 'Service Unavailable' }, status(second - 3600, 'completed'), status(second, 'completed')]);
      const started = await requested();

      // Act
      const rebooting = await checkRestore(client(), target, started, fresh(), clock);
      const stale = await checkRestore(client(), target, started, rebooting, clock);
      const done = await checkRestore(client(), target, started, stale, clock);

      // Assess
      expect([rebooting.phase, stale.phase, done.phase]).toEqual(['rebooting', 'waiting', 'completed']);
    });
  });
});

describe('isRebootSymptom', () => {
  test.each([
    ['a dropped connection', new TransientApiError('network error ECONNRESET'), true],
    ['a 502', new TransientApiError('HTTP 502', undefined, 502), true],
    ['a 503', new TransientApiError('HTTP 503', undefined, 503), true],
    ['a 504', new TransientApiError('HTTP 504', undefined, 504), true],
    ['a 500', new TransientApiError('HTTP 500', undefined, 500), false],
    ['a 429', new TransientApiError('HTTP 429', 5, 429), false],
    ['a 404', new VendorApiError('HTTP 404', 404), false],
  ])('%s', (_case, error, expected) => {
    // Act / Assess
    expect(isRebootSymptom(error)).toBe(expected);
  });
});
