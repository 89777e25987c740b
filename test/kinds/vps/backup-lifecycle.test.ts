import { listArchivedCopies } from '../../../functions/archive/listing';
import { runLifecycle, type LifecycleOutcome } from '../../../bin/local/local-runner';
import { SANDBOX_VPS_SERVER, SANDBOX_VPS_TARGET } from '../../../bin/sandbox/vps/sandbox-round';
import { backupCommand } from '../../../bin/cli/commands';
import type { LifecycleRunner } from '../../../bin/cli/lifecycle-runner';
import { OFFSITE_DESCRIPTION_MARKER, offsiteDescription } from '../../../functions/shared/provenance';
import { FAST_WAITS_MS, NO_RETRY_DELAY_MS, SANDBOX_BUCKET, startHarness, type Harness } from '../../support/harness';

describe('VPS backup lifecycle (state-machines/vps-backup.asl.json)', () => {
  let harness: Harness;

  async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<void> {
    harness = await startHarness(options);
  }

  afterEach(async () => {
    await harness.stop();
  });

  let runs = 0;
  function runBackup(): Promise<LifecycleOutcome> {
    runs += 1;
    return harness.run('vps', 'backup', { target: SANDBOX_VPS_TARGET }, { executionName: `vps-backup-test-${runs}` });
  }

  const quiet = { out: () => undefined, err: () => undefined, errStream: process.stderr };
  // The CLI's own command, with the test's short waits.
  const fastRunner: LifecycleRunner = {
    where: 'local',
    run: ({ lifecycle, input, onEvent }) => runLifecycle({ lifecycle, input, onEvent, waitOverridesMs: FAST_WAITS_MS, retryOverridesMs: NO_RETRY_DELAY_MS }),
  };

  async function records() {
    return (await listArchivedCopies(harness.s3, SANDBOX_BUCKET, 'backups/', SANDBOX_VPS_TARGET)).providerRecords;
  }

  const backupsOfServer = () => harness.sandbox.vps.listBackups().filter((backup) => (backup.server as { id: number }).id === SANDBOX_VPS_SERVER);

  test('makes a manual backup, waits for completed and writes its catalogue record ("storage": "provider")', async () => {
    // Prepare
    await start();

    // Act
    const outcome = await runBackup();

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const posts = harness.sandbox.vps.requests.filter((request) => request.method === 'POST' && request.path === '/api/v1/backups/');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toEqual({ server_id: SANDBOX_VPS_SERVER, description: expect.stringMatching(/offsite.*vps-sandbox.*vps-backup-test-/) });
    const made = backupsOfServer().find((backup) => backup.description === (posts[0]?.body as { description: string }).description);
    expect(made).toMatchObject({ status: 'completed', backup_type: 'manual' });
    const [entry, ...others] = await records();
    expect(others).toEqual([]);
    expect(entry?.record).toMatchObject({
      storage: 'provider',
      kind: 'vps',
      objectKey: null,
      sha256: null,
      sourceBackupId: String(made?.id),
      sourceType: 'manual',
      sourceSizeBytes: (made?.size_mb as number) * 1024 * 1024,
      createdAt: made?.created_at,
      expiresAt: null,
    });
  });

  test('three backups in a row with keepLast 2 leave exactly two offsite-made manual backups; automatic and foreign manual ones untouched', async () => {
    // Prepare
    await start({ vpsTarget: { retention: { keepLast: 2 } } });
    const foreign = backupsOfServer().filter((backup) => backup.backup_type === 'automatic' || backup.description === 'Pre-update backup');
    // A manual backup whose description looks like offsite's, but which offsite has no record of.
    harness.sandbox.vps.addBackup({ serverId: SANDBOX_VPS_SERVER, type: 'manual', description: offsiteDescription(SANDBOX_VPS_TARGET, 'someone-else') });
    const lookalike = backupsOfServer().at(-1);

    // Act
    const outcomes = [await runBackup(), await runBackup(), await runBackup()];

    // Assess
    expect(outcomes.map((outcome) => outcome.succeeded)).toEqual([true, true, true]);
    const held = backupsOfServer();
    const ids = new Set(held.map((backup) => backup.id));
    for (const backup of [...foreign, lookalike]) expect(ids.has(backup?.id)).toBe(true);
    const recorded = await records();
    expect(recorded).toHaveLength(2);
    for (const { record } of recorded) expect(ids.has(Number(record.sourceBackupId))).toBe(true);
    const ownManual = held.filter((backup) => recorded.some(({ record }) => record.sourceBackupId === String(backup.id)));
    expect(ownManual).toHaveLength(2);
    const deletes = harness.sandbox.vps.requests.filter((request) => request.method === 'DELETE');
    expect(deletes).toHaveLength(1);
  });

  test('a backup the provider reports failed ends in ProviderBackupFailed with its words, and no record is written', async () => {
    // Prepare
    await start();
    harness.sandbox.vps.setBackupOutcome('failed', 'Snapshot failed: disk quota exceeded');

    // Act
    const outcome = await runBackup();

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'ProviderBackupFailed' });
    expect(outcome.cause).toMatch(/"failed".*Snapshot failed: disk quota exceeded/);
    expect(await records()).toEqual([]);
  });

  test('a backup that never completes ends in BackupTimedOut within poll.timeoutMinutes', async () => {
    // Prepare
    await start({ poll: { initialSeconds: 1, maxSeconds: 4, timeoutMinutes: 1 } });
    harness.sandbox.vps.neverCompleteBackups(true);

    // Act
    const outcome = await runBackup();

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'BackupTimedOut' });
    expect(outcome.path.filter((state) => state === 'CheckBackup').length).toBeLessThan(30);
  });

  test('a 429 on create (with RateLimit-Reset) is repeated and makes one backup', async () => {
    // Prepare
    await start();
    harness.sandbox.vps.failNext({ method: 'POST', pathIncludes: '/api/v1/backups/' }, 429, { headers: { 'RateLimit-Reset': '0' }, times: 3 });

    // Act
    const outcome = await runBackup();

    // Assess
    expect(outcome.succeeded).toBe(true);
    expect(backupsOfServer().filter((backup) => String(backup.description).startsWith(OFFSITE_DESCRIPTION_MARKER))).toHaveLength(1);
  });

  test('a 502 after the provider made the backup: the backup is found by its description, none is made twice', async () => {
    // Prepare
    await start();
    harness.sandbox.vps.failNext({ method: 'POST', pathIncludes: '/api/v1/backups/' }, 502, { afterHandling: true });

    // Act
    const outcome = await runBackup();

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    expect(outcome.retries.CreateBackup).toBeUndefined();
    expect(harness.sandbox.vps.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
    expect(await records()).toHaveLength(1);
  });

  test('a 502 after the provider made the backup: the backup carries the description the README quotes, and the output a note that the lost answer was settled', async () => {
    // Prepare
    await start();
    harness.sandbox.vps.failNext({ method: 'POST', pathIncludes: '/api/v1/backups/' }, 502, { afterHandling: true });
    const out: string[] = [];

    // Act
    const result = await backupCommand(harness.config, SANDBOX_VPS_TARGET, { ...quiet, out: (line) => out.push(line) }, {}, fastRunner);

    // Assess
    expect(result.exitCode).toBe(0);
    const made = backupsOfServer().filter((backup) => String(backup.description).startsWith(OFFSITE_DESCRIPTION_MARKER));
    expect(made).toHaveLength(1);
    expect(made[0]?.description).toMatch(new RegExp(`^Made by offsite \\(target ${SANDBOX_VPS_TARGET}, execution [^)]+\\)$`));
    expect(out.join('\n')).toMatch(new RegExp(`note +The answer to the create request was lost \\(.*502.*\\); the provider had made backup ${String(made[0]?.id)}, which this run adopted\\.`));
  });

  test('a clean create prints no note', async () => {
    // Prepare
    await start();
    const out: string[] = [];

    // Act
    const result = await backupCommand(harness.config, SANDBOX_VPS_TARGET, { ...quiet, out: (line) => out.push(line) }, { json: true }, fastRunner);

    // Assess
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(out.join('')) as { notes: string[] }).toMatchObject({ notes: [] });
  });

  test('a delete at the provider that keeps failing is not reported as a removal: the summary counts what was removed', async () => {
    // Prepare
    await start({ vpsTarget: { retention: { keepLast: 1 } } });
    expect((await runBackup()).succeeded).toBe(true);
    harness.sandbox.vps.failNext({ method: 'DELETE' }, 500, { times: 6 });
    const out: string[] = [];
    const err: string[] = [];

    // Act
    const result = await backupCommand(harness.config, SANDBOX_VPS_TARGET, { ...quiet, out: (line) => out.push(line), err: (line) => err.push(line) }, {}, fastRunner);

    // Assess
    expect(result.exitCode).toBe(0);
    expect(err.join('\n')).toMatch(/PruneFailed/);
    const retention = out.find((line) => line.trim().startsWith('retention'));
    expect(retention).toMatch(/retention 0 offsite-made backup\(s\) removed at the provider, 1 kept; 1 due for removal not confirmed removed/);
    expect(backupsOfServer().filter((backup) => String(backup.description).startsWith(OFFSITE_DESCRIPTION_MARKER))).toHaveLength(2);
  });

  test('a prune that worked counts its removals', async () => {
    // Prepare
    await start({ vpsTarget: { retention: { keepLast: 1 } } });
    expect((await runBackup()).succeeded).toBe(true);
    const out: string[] = [];

    // Act
    const result = await backupCommand(harness.config, SANDBOX_VPS_TARGET, { ...quiet, out: (line) => out.push(line) }, {}, fastRunner);

    // Assess
    expect(result.exitCode).toBe(0);
    expect(out.find((line) => line.trim().startsWith('retention'))).toBe('  retention 1 offsite-made backup(s) removed at the provider, 1 kept');
  });

  test('a 404 on create fails as ServerNotFound naming the serverId', async () => {
    // Prepare
    await start({ vpsTarget: { serverId: 99999 } });

    // Act
    const outcome = await runBackup();

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'ServerNotFound' });
    expect(outcome.cause).toMatch(/server 99999 does not exist/);
  });

  test('a failing delete at the provider ends in PruneFailed, the new record kept', async () => {
    // Prepare
    await start({ vpsTarget: { retention: { keepLast: 1 } } });
    await runBackup();
    harness.sandbox.vps.failNext({ method: 'DELETE' }, 403, { body: { detail: 'You do not have permission to perform this action.' } });

    // Act
    const outcome = await runBackup();

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'PruneFailed' });
    expect(outcome.cause).toMatch(/held by the provider, not off-site/);
    expect(await records()).toHaveLength(2);
  });
});
