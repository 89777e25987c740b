import { GetObjectCommand } from '@aws-sdk/client-s3';
import { drillCommand, drillReportOf, runDrillLifecycle } from '../../bin/cli/drill';
import type { DrillReport } from '../../functions/drill/report';
import { FAST_WAITS_MS, NO_RETRY_DELAY_MS, listKeys, startHarness, type Harness } from '../support/harness';
import { SANDBOX_NETBOX_TARGET, SANDBOX_RESTORE_INSTANCE } from '../../bin/sandbox/netbox-cloud/sandbox-round';

const quiet = { out: () => undefined, err: () => undefined, errStream: process.stderr };
const fast = { waitOverridesMs: FAST_WAITS_MS, retryOverridesMs: NO_RETRY_DELAY_MS };

describe('restore drill (state-machines/drill.asl.json) — NetBox Cloud', () => {
  let harness: Harness;

  beforeEach(async () => {
    harness = await startHarness();
    const backup = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });
    expect(backup.succeeded).toBe(true);
  });

  afterEach(async () => {
    await harness.stop();
  });

  async function storedReport(key: string): Promise<DrillReport> {
    const answer = await harness.s3.send(new GetObjectCommand({ Bucket: harness.config.archive.bucket, Key: key }));
    return JSON.parse((await answer.Body?.transformToString('utf8')) ?? '') as DrillReport;
  }

  test('a passing drill restores the newest verified copy onto the drill instance, checks it and writes the report under drills/', async () => {
    // Act
    const outcome = await runDrillLifecycle(harness.config, SANDBOX_NETBOX_TARGET, fast);

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const report = drillReportOf(outcome);
    expect(report).toMatchObject({ outcome: 'passed', destination: `instance ${SANDBOX_RESTORE_INSTANCE}`, failedChecks: [] });
    expect(report?.checks.map((check) => [check.name, check.passed])).toEqual([
      ['restore completed', true],
      ['NetBox version', true],
      ['object count dcim/devices', true],
      ['object count ipam/prefixes', true],
    ]);
    const posts = harness.sandbox.netboxCloud.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backup-restore/'));
    expect(posts.map((request) => (request.body as { target_nb_id?: string }).target_nb_id)).toEqual([SANDBOX_RESTORE_INSTANCE]);
    const keys = await listKeys(harness.s3, harness.config.archive.bucket, `${harness.config.archive.prefix}${SANDBOX_NETBOX_TARGET}/drills/`);
    expect(keys).toHaveLength(1);
    expect(await storedReport(keys[0] ?? '')).toMatchObject({ outcome: 'passed', copy: { objectKey: report?.copy.objectKey } });
    expect(report?.phases.restore.durationMs).toBeGreaterThan(0);
  });

  test('a failing check (object count outside its tolerance) fails the drill naming the check; the CLI exits 1', async () => {
    // Prepare
    harness.sandbox.netboxCloud.setObjectCount(SANDBOX_RESTORE_INSTANCE, 'dcim/devices', 40);
    const errors: string[] = [];

    // Act
    const result = await drillCommand(harness.config, SANDBOX_NETBOX_TARGET, { ...quiet, err: (line) => errors.push(line) }, fast);

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.report).toMatchObject({ outcome: 'check-failed', failedChecks: ['object count dcim/devices'] });
    expect(errors.join('\n')).toMatch(/check failed: object count dcim\/devices \(dcim\/devices: 40 on the restored instance, 42 on netbox-sandbox/);
  });

  test('a reported NetBox version other than the backup\'s fails the version check', async () => {
    // Prepare
    harness.sandbox.netboxCloud.setReportedVersion(SANDBOX_RESTORE_INSTANCE, '4.1.0');

    // Act
    const outcome = await runDrillLifecycle(harness.config, SANDBOX_NETBOX_TARGET, fast);

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'DrillCheckFailed' });
    expect(drillReportOf(outcome)?.checks.find((check) => check.name === 'NetBox version')).toMatchObject({ passed: false, expected: '4.2.9', observed: '4.1.0' });
  });

  test('a restore failure is reported with the restore lifecycle\'s own error, and no check runs', async () => {
    // Prepare
    harness.sandbox.netboxCloud.setRestoreOutcome(SANDBOX_RESTORE_INSTANCE, 'failed');

    // Act
    const outcome = await runDrillLifecycle(harness.config, SANDBOX_NETBOX_TARGET, fast);

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'DrillRestoreFailed' });
    expect(outcome.path).not.toContain('RunChecks');
    expect(drillReportOf(outcome)).toMatchObject({ outcome: 'restore-failed', restore: { succeeded: false, error: 'RestoreJobFailed' }, checks: [] });
  });
});

describe('restore drill — VPS onto the spare server', () => {
  let harness: Harness;

  beforeEach(async () => {
    harness = await startHarness();
  });

  afterEach(async () => {
    await harness.stop();
  });

  test('restores the newest catalogued backup onto the drill server (not the target\'s own) and checks its status', async () => {
    // Prepare
    const io = { out: () => undefined, err: () => undefined, errStream: process.stderr };
    const { backupCommand } = await import('../../bin/cli/commands');
    expect((await backupCommand(harness.config, 'vps-sandbox', io)).exitCode).toBe(0);

    // Act
    const outcome = await runDrillLifecycle(harness.config, 'vps-sandbox', fast);

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const restores = harness.sandbox.vps.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/restore/'));
    expect(restores.map((request) => request.path)).toEqual(['/api/v1/servers/67890/restore/']);
    expect(drillReportOf(outcome)?.checks).toEqual([expect.objectContaining({ name: 'server status', passed: true, observed: 'running' })]);
  });
});
