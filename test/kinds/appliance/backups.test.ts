import type { ApplianceClient } from '../../../functions/kinds/appliance/client';
import { checkBackup, createBackup } from '../../../functions/kinds/appliance/backups';
import { CopyVerificationFailed, TransientApiError, VendorApiError } from '../../../functions/shared/errors';
import { ApplianceBackupFailed, ApplianceStorageFull } from '../../../functions/kinds/appliance/errors';
import { startPoll } from '../../../functions/shared/poll';
import type { ApplianceSimulator, ApplianceSimulatorOptions } from '../../../bin/sandbox/appliance';
import { MADE_BY_OFFSITE, archiveOf, archivedCopy, backup, handWrittenAppliance, readNoCopies, sleep, startQuickSimulator, target } from '../../support/appliance';

describe('appliance backups against the appliance simulator', () => {
  let simulator: ApplianceSimulator;
  let client: ApplianceClient;

  async function start(options: ApplianceSimulatorOptions = {}, timeoutMs?: number): Promise<void> {
    ({ simulator, client } = await startQuickSimulator(options, timeoutMs));
  }

  afterEach(async () => {
    await simulator.stop();
  });

  describe('createBackup and checkBackup', () => {
    test('creates a backup whose description says offsite made it', async () => {
      // Prepare
      await start();

      // Act
      const created = await createBackup(client, target, 'exec-1', readNoCopies);

      // Assess
      expect(created).toMatchObject({ status: 'started', description: MADE_BY_OFFSITE, poll: startPoll(target.poll) });
      expect(simulator.backups().map((held) => held.description)).toEqual([MADE_BY_OFFSITE]);
    });

    test('a full appliance is ApplianceStorageFull naming the fix and every backup it holds', async () => {
      // Prepare: one backup of ours and one from the appliance scheduler fill both slots.
      await start({ seedBackups: 1, storageLimit: 2 });
      const ours = await createBackup(client, target, 'exec-1', readNoCopies);
      await sleep(100);
      const theirs = simulator.backups().find((held) => held.id !== ours.backupId);

      // Act
      const failure = createBackup(client, target, 'exec-2', readNoCopies);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
      await expect(failure).rejects.toThrow('Appliance "ar11-lab" refused a new backup; its backup storage is full');
      await expect(failure).rejects.toThrow(`${ours.backupId} (made by offsite, `);
      await expect(failure).rejects.toThrow(`${theirs?.id ?? 'missing'} (not made by offsite, `);
      await expect(failure).rejects.toThrow('or lower applianceKeep (now 1)');
      expect(simulator.backups()).toHaveLength(2);
    });

    test('a full appliance holding a backup offsite made and archived deletes it, says so, and makes the new backup', async () => {
      // Prepare: the scheduler's backup and ours (archived and verified) fill both slots.
      await start({ seedBackups: 1, storageLimit: 2 });
      const ours = await createBackup(client, target, 'exec-1', readNoCopies);
      await sleep(100);
      const theirs = simulator.backups().find((held) => held.id !== ours.backupId);
      const copy = archivedCopy(ours.backupId, { sizeBytes: simulator.backupBytes(ours.backupId).length });

      // Act
      const created = await createBackup(client, target, 'exec-2', async () => archiveOf(copy));

      // Assess
      expect(created.description).toBe('Made by offsite (target ar11-lab, execution exec-2)');
      expect(simulator.backups().map((held) => held.id).sort()).toEqual([theirs?.id, created.backupId].sort());
      expect(created.notes).toEqual([expect.stringContaining(`deleted backup ${ours.backupId}`)]);
      expect(created.notes[0]).toContain(`archived and verified as ${copy.manifest.objectKey}`);
    });

    test('a full appliance deletes only an archived backup offsite made: with none, nothing is deleted and it fails as ApplianceStorageFull', async () => {
      // Prepare: ours has an archive copy whose object is missing, so it is not verified.
      await start({ seedBackups: 1, storageLimit: 2 });
      const ours = await createBackup(client, target, 'exec-1', readNoCopies);
      await sleep(100);
      const unverified = archivedCopy(ours.backupId, { sizeBytes: simulator.backupBytes(ours.backupId).length, matches: false });
      const before = simulator.backups().map((held) => held.id);

      // Act
      const failure = createBackup(client, target, 'exec-2', async () => archiveOf(unverified));

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
      expect(simulator.backups().map((held) => held.id)).toEqual(before);
      expect(simulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    });

    test('a 500 after the appliance made the backup adopts that backup, never making a second', async () => {
      // Prepare
      await start();
      simulator.loseNextCreateAnswer(500);

      // Act
      const created = await createBackup(client, target, 'exec-1', readNoCopies);

      // Assess
      expect(simulator.backups().map((held) => held.id)).toEqual([created.backupId]);
      expect(created).toMatchObject({ description: MADE_BY_OFFSITE, poll: startPoll(target.poll) });
      expect(created.notes).toEqual([expect.stringContaining(`the appliance had made backup ${created.backupId}, which this run adopted`)]);
      expect(simulator.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backups'))).toHaveLength(1);
    });

    test('a gateway page answering the create request is quoted by its title, never as markup', async () => {
      // Prepare
      await start();
      simulator.loseNextCreateAnswer(502);

      // Act
      const created = await createBackup(client, target, 'exec-1', readNoCopies);

      // Assess
      expect(created.notes[0]).toContain('HTTP 502 — 502 Bad Gateway (HTML page, ');
      expect(created.notes[0]).not.toContain('<');
    });

    test('a backup the appliance reports failed is ApplianceBackupFailed with its status_message', async () => {
      // Prepare
      await start();
      simulator.failNextBackup('Backup failed: not enough space in /var/backups');
      const created = await createBackup(client, target, 'exec-1', readNoCopies);
      await sleep(100);

      // Act
      const failure = checkBackup(client, target, created.backupId, created.poll);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceBackupFailed);
      await expect(failure).rejects.toThrow(`backup ${created.backupId} failed: Backup failed: not enough space in /var/backups`);
    });

    test('checkBackup reports progress and the completed backup with its size', async () => {
      // Prepare
      await start();
      const created = await createBackup(client, target, 'exec-1', readNoCopies);

      // Act
      const running = await checkBackup(client, target, created.backupId, created.poll);
      await sleep(100);
      const completed = await checkBackup(client, target, created.backupId, running.poll);

      // Assess
      expect(running.status).toMatch(/^(started|uploading)$/);
      expect(completed).toMatchObject({ status: 'completed', sizeBytes: simulator.backupBytes(created.backupId).length });
      expect(completed.poll.attempt).toBe(2);
    });

    test('an uploaded backup of another size than was sent is CopyVerificationFailed', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const held = simulator.backups()[0];

      // Act / Assess
      await expect(checkBackup(client, target, held?.id ?? '', startPoll(target.poll), (held?.size ?? 0) + 1)).rejects.toBeInstanceOf(CopyVerificationFailed);
    });
  });
});

describe('createBackup against a hand-written appliance', () => {
  const handWritten = handWrittenAppliance();
  const client = handWritten.client;
  const badRequest = { status: 400, body: { error_id: 'REQUEST_INVALID_INPUT', error_text: 'description: unexpected character' } };

  test('a bare 400 while the appliance holds fewer than 2 backups is not taken as a full disk', async () => {
    // Prepare
    handWritten.answer = (method) => (method === 'POST' ? badRequest : { status: 200, body: { items: [backup('b-1', 1_774_000_000)] } });

    // Act
    const failure = createBackup(client(), target, 'exec-1', readNoCopies);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(VendorApiError);
    await expect(failure).rejects.not.toBeInstanceOf(ApplianceStorageFull);
    await expect(failure).rejects.toThrow('create appliance backup failed: HTTP 400 — REQUEST_INVALID_INPUT: description: unexpected character');
  });

  test('a bare 400 while the appliance holds 2 backups is taken as a full disk', async () => {
    // Prepare
    handWritten.answer = (method) => (method === 'POST' ? badRequest : { status: 200, body: { items: [backup('b-1', 1_774_000_000), backup('b-2', 1_774_086_400, { description: 'nightly' })] } });

    // Act
    const failure = createBackup(client(), target, 'exec-1', readNoCopies);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
    await expect(failure).rejects.toThrow('It holds b-1 (made by offsite, 2026-03-20T09:46:40.000Z), b-2 (not made by offsite, 2026-03-21T09:46:40.000Z).');
  });

  test('a bare 400 taken as a full disk deletes nothing, even with an archived backup offsite made: it may be any other problem', async () => {
    // Prepare
    const methods: string[] = [];
    handWritten.answer = (method) => {
      methods.push(method);
      return method === 'POST' ? badRequest : { status: 200, body: { items: [backup('b-1', 1_774_000_000), backup('b-2', 1_774_086_400, { description: 'nightly' })] } };
    };
    const archived = async () => archiveOf(archivedCopy('b-1'));

    // Act
    const failure = createBackup(client(), target, 'exec-1', archived);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
    expect(methods).not.toContain('DELETE');
    expect(methods.filter((method) => method === 'POST')).toHaveLength(1);
  });

  test('a completed upload without a size (optional in the document) is not taken for a size mismatch', async () => {
    // Prepare
    handWritten.answer = () => ({ status: 200, body: { id: 'up-1', status: 'completed', backup_time: 1_774_000_000 } });

    // Act
    const checked = await checkBackup(client(), target, 'up-1', startPoll(target.poll), 1000);

    // Assess
    expect(checked).toMatchObject({ backupId: 'up-1', status: 'completed', sizeBytes: null });
  });

  test('a 5xx on create with no backup made is TransientApiError saying nothing was left behind', async () => {
    // Prepare
    handWritten.answer = (method) => (method === 'POST' ? { status: 500, body: { error_id: 'INTERNAL_ERROR', error_text: 'disk I/O error' } } : { status: 200, body: { items: [] } });

    // Act
    const failure = createBackup(client(), target, 'exec-1', readNoCopies);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientApiError);
    await expect(failure).rejects.toThrow(`HTTP 500 — INTERNAL_ERROR: disk I/O error. The appliance lists no backup described "${MADE_BY_OFFSITE}", so none was made and nothing was left behind`);
  });

  test('a 5xx on create whose backups cannot be listed names the description to look for', async () => {
    // Prepare
    handWritten.answer = () => ({ status: 500, body: { error_id: 'INTERNAL_ERROR', error_text: 'disk I/O error' } });

    // Act
    const failure = createBackup(client(), target, 'exec-1', readNoCopies);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientApiError);
    await expect(failure).rejects.toThrow(`it is not known whether a backup was made: look on the appliance for one described "${MADE_BY_OFFSITE}"`);
  });
});
