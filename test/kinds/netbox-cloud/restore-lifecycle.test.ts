import { GATEWAY_502_HTML } from '../../../bin/sandbox/netbox-cloud';
import { REDEPLOY_GRACE_CHECKS, UNCONFIRMED_LOOKUPS } from '../../../functions/kinds/netbox-cloud/lifecycle';
import { startHarness, type Harness } from '../../support/harness';
import { SANDBOX_RESTORE_INSTANCE, SANDBOX_SOURCE_INSTANCE } from '../../../bin/sandbox/netbox-cloud/sandbox-round';

function restoreInput(overrides: Record<string, string> = {}): Record<string, string> {
  return { target: 'netbox-sandbox', backupId: 'latest', targetInstanceId: SANDBOX_RESTORE_INSTANCE, confirm: SANDBOX_RESTORE_INSTANCE, ...overrides };
}

describe('NetBox Cloud restore lifecycle (state-machines/netbox-cloud-restore.asl.json)', () => {
  let harness: Harness;

  beforeEach(async () => {
    harness = await startHarness({ netboxCloud: { defaultPageSize: 2 } });
  });

  afterEach(async () => {
    await harness.stop();
  });

  function newestBackupOfSource(): string {
    const newest = harness.sandbox.netboxCloud
      .listBackups()
      .filter((backup) => backup.obj_id === SANDBOX_SOURCE_INSTANCE)
      .sort((a, b) => b.created.localeCompare(a.created))[0];
    if (!newest) throw new Error('the simulator has no backups');
    return newest.id;
  }

  test('restores "latest" — the newest backup by created time — onto the chosen instance', async () => {
    // Prepare
    const expectedBackup = newestBackupOfSource();

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const simulator = harness.sandbox.netboxCloud;
    const retrieval = simulator.listRetrievals().find((candidate) => candidate.backup_id === expectedBackup);
    expect(retrieval).toBeDefined();
    const posts = simulator.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backup-restore/'));
    expect(posts.map((request) => request.body)).toEqual([{ retrieval_id: retrieval?.id, target_nb_id: SANDBOX_RESTORE_INSTANCE }]);
    expect(simulator.listRestoreJobs()[0]).toMatchObject({ target_nb_id: SANDBOX_RESTORE_INSTANCE, failed: null });
    expect((outcome.output as { restore: { redeployedAt: string | null } }).restore.redeployedAt).toBe(simulator.listRestoreJobs()[0]?.nb_redeployed);
    expect(simulator.listRestoreJobs()[0]?.nb_redeployed).toEqual(expect.any(String));
  });

  test('restores a backup chosen by id', async () => {
    // Prepare: the oldest backup, so "latest" would be a different one.
    const oldest = harness.sandbox.netboxCloud
      .listBackups()
      .filter((backup) => backup.obj_id === SANDBOX_SOURCE_INSTANCE)
      .sort((a, b) => a.created.localeCompare(b.created))[0];

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput({ backupId: oldest?.id ?? '' }));

    // Assess
    expect(outcome.succeeded).toBe(true);
    expect(harness.sandbox.netboxCloud.listRetrievals().map((retrieval) => retrieval.backup_id)).toEqual([oldest?.id]);
  });

  test('reuses a completed, unexpired retrieval instead of requesting another', async () => {
    // Prepare
    const first = await harness.run('netbox-cloud', 'restore', restoreInput());
    expect(first.succeeded).toBe(true);

    // Act
    const second = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(second.succeeded).toBe(true);
    expect(second.path).not.toContain('RequestRetrieval');
    expect(harness.sandbox.netboxCloud.listRetrievals()).toHaveLength(1);
    expect(harness.sandbox.netboxCloud.listRestoreJobs()).toHaveLength(2);
  });

  test('requests a new retrieval when the only one has expired', async () => {
    // Prepare
    await harness.run('netbox-cloud', 'restore', restoreInput());
    harness.sandbox.netboxCloud.expireRetrievals();

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(outcome.succeeded).toBe(true);
    expect(outcome.path).toContain('RequestRetrieval');
    expect(harness.sandbox.netboxCloud.listRetrievals()).toHaveLength(2);
  });

  test('a 422 from NetBox Cloud fails as TargetVersionUnavailable with a message a person understands', async () => {
    // Prepare
    harness.sandbox.netboxCloud.setVersionAvailable(SANDBOX_RESTORE_INSTANCE, false);

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'TargetVersionUnavailable' });
    expect(outcome.cause).toMatch(/cannot run the NetBox version of this backup \(target version not available\)/);
    expect(outcome.path.at(-1)).toBe('TargetVersionUnavailable');
    expect(outcome.retries.RequestRestore).toBeUndefined();
  });

  test('waits a few checks for nb_redeployed after completed, then succeeds without it', async () => {
    // Prepare: the redeploy is reported only after ten minutes.
    await harness.stop();
    harness = await startHarness({ netboxCloud: { redeployDelayMs: 10 * 60 * 1000 } });

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(outcome.succeeded).toBe(true);
    expect((outcome.output as { restore: { redeployedAt: string | null; checksSinceCompleted: number } }).restore).toMatchObject({
      redeployedAt: null,
      checksSinceCompleted: REDEPLOY_GRACE_CHECKS,
    });
  });

  test('a restore job that NetBox Cloud reports failed ends in RestoreJobFailed', async () => {
    // Prepare
    harness.sandbox.netboxCloud.setRestoreOutcome(SANDBOX_RESTORE_INSTANCE, 'failed');

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'RestoreJobFailed' });
  });

  function restorePosts(): number {
    return harness.sandbox.netboxCloud.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backup-restore/')).length;
  }

  test('a gateway 502 (an HTML page) on a restore request that did start the job: the job is found and followed to completion', async () => {
    // Prepare
    harness.sandbox.netboxCloud.failNext({ method: 'POST', pathIncludes: '/backup-restore/' }, 502, { html: GATEWAY_502_HTML, afterHandling: true });

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    expect(restorePosts()).toBe(1);
    const jobs = harness.sandbox.netboxCloud.listRestoreJobs();
    expect(jobs).toHaveLength(1);
    expect((outcome.output as { restore: { restoreJobId: string } }).restore.restoreJobId).toBe(jobs[0]?.id);
  });

  test('a 5xx on a restore request that started nothing is not repeated and fails as RequestOutcomeUnknown, quoting a short text of the page', async () => {
    // Prepare
    harness.sandbox.netboxCloud.failNext({ method: 'POST', pathIncludes: '/backup-restore/' }, 502, { html: GATEWAY_502_HTML });

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'RequestOutcomeUnknown' });
    expect(outcome.cause).toMatch(/HTTP 502 — 502 Bad Gateway \(HTML page, \d+ bytes\)/);
    expect(outcome.cause).toMatch(/the restore may or may not have started; check restore jobs for nb-b23ff000888/);
    expect(outcome.cause).not.toMatch(/<|nginx|padding/);
    expect(restorePosts()).toBe(1);
    expect(harness.sandbox.netboxCloud.listRestoreJobs()).toEqual([]);
    expect(outcome.path.filter((state) => state === 'CheckRestore')).toHaveLength(UNCONFIRMED_LOOKUPS);
  });

  test('a backup list whose page 2 repeats page 1 while claiming more pages fails "latest" as InconsistentPagination, not retried', async () => {
    // Prepare
    harness.sandbox.netboxCloud.repeatFirstPage('/backups/');

    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'InconsistentPagination' });
    expect(outcome.cause).toMatch(/list backups: page 2 repeats .* \(it claims total_pages 1000000, last_page false\)/);
    expect(outcome.retries.ResolveBackup).toBeUndefined();
    expect(harness.sandbox.netboxCloud.listRetrievals()).toEqual([]);
  });

  test.each([
    ['confirm differs from targetInstanceId', restoreInput({ confirm: SANDBOX_SOURCE_INSTANCE }), 'RestoreNotConfirmed'],
    ['confirm is missing', { target: 'netbox-sandbox', backupId: 'latest', targetInstanceId: SANDBOX_RESTORE_INSTANCE }, 'RestoreNotConfirmed'],
    ['targetInstanceId is missing', { target: 'netbox-sandbox', backupId: 'latest', confirm: SANDBOX_RESTORE_INSTANCE }, 'RestoreNotConfirmed'],
    ['backupId is missing', { target: 'netbox-sandbox', targetInstanceId: SANDBOX_RESTORE_INSTANCE, confirm: SANDBOX_RESTORE_INSTANCE }, 'InvalidInput'],
  ])('fails before any API call when %s', async (_case, input, error) => {
    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', input);

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error });
    expect(harness.sandbox.netboxCloud.requests).toEqual([]);
  });

  test('an unknown backup id fails as BackupNotFound without requesting a retrieval', async () => {
    // Act
    const outcome = await harness.run('netbox-cloud', 'restore', restoreInput({ backupId: 'no-such-backup' }));

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'BackupNotFound' });
    expect(harness.sandbox.netboxCloud.listRetrievals()).toEqual([]);
  });
});
