import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { drillCommand, drillReportOf, runDrillLifecycle } from '../../../bin/cli/drill';
import { startApplianceSimulator, type ApplianceSimulator } from '../../../bin/sandbox/appliance';
import { useConfig } from '../../../bin/cli/commands';
import type { OffsiteConfig } from '../../../functions/config/schema';
import type { DrillReport } from '../../../functions/drill/report';
import { FAST_WAITS_MS, NO_RETRY_DELAY_MS, listKeys, startHarness, type Harness } from '../../support/harness';
import { SANDBOX_APPLIANCE_TARGET } from '../../../bin/sandbox/appliance/sandbox-round';

// An appliance drill end to end: the production appliance (the harness's) is backed up,
// then its newest archived copy is uploaded to and restored on a second simulator, the
// lab box, which the drill's checks then read.

const LAB_TARGET = 'appliance-lab';
const LAB_HOSTNAME = 'ar11-drill-lab';
const LAB_PASSWORD_ENV = 'OFFSITE_TEST_LAB_APPLIANCE_PASSWORD';
const quiet = { out: () => undefined, err: () => undefined, errStream: process.stderr };
const fast = { waitOverridesMs: FAST_WAITS_MS, retryOverridesMs: NO_RETRY_DELAY_MS };

/** Requests that would change or restore an appliance: uploads, restores, backups made or deleted. */
const writes = (simulator: ApplianceSimulator) => simulator.requests.filter((request) => request.method !== 'GET' && !/\/(token|oauth)/.test(request.path));

describe('restore drill — appliance onto a lab box', () => {
  let harness: Harness;
  let lab: ApplianceSimulator;
  let config: OffsiteConfig;

  beforeEach(async () => {
    harness = await startHarness({ applianceTarget: { drill: { to: LAB_TARGET, checks: { hostname: LAB_HOSTNAME } } } });
    lab = await startApplianceSimulator({ backupDurationMs: 150, rebootWindowMs: 300, info: { hostname: LAB_HOSTNAME } });
    // The lab box is another configured appliance target, with its own credentials and CA.
    const file = JSON.parse(await readFile(harness.sandbox.configPath, 'utf8')) as { targets: Record<string, unknown>[] };
    const production = file.targets.find((target) => target.name === SANDBOX_APPLIANCE_TARGET) ?? {};
    file.targets.push({
      name: LAB_TARGET,
      kind: 'appliance',
      baseUrl: lab.url,
      auth: { method: 'token', apiVersion: '1.0', username: lab.username, password: { env: LAB_PASSWORD_ENV } },
      ...(lab.caPem ? { tls: { ca: { pem: lab.caPem } } } : {}),
      poll: production.poll,
      restore: { rebootWindowMinutes: 2 },
    });
    const path = join(harness.sandbox.directory, 'offsite.drill.config.json');
    await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
    process.env[LAB_PASSWORD_ENV] = lab.password;
    config = useConfig(path);
    const backup = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });
    expect(backup.succeeded).toBe(true);
  });

  afterEach(async () => {
    delete process.env[LAB_PASSWORD_ENV];
    await Promise.allSettled([lab.stop(), harness.stop()]);
  });

  async function storedReport(key: string): Promise<DrillReport> {
    const answer = await harness.s3.send(new GetObjectCommand({ Bucket: config.archive.bucket, Key: key }));
    return JSON.parse((await answer.Body?.transformToString('utf8')) ?? '') as DrillReport;
  }

  test('a passing drill uploads the newest archived copy to the lab box only, restores it there, checks it and writes the report', async () => {
    // Prepare
    const production = harness.sandbox.appliance;
    const productionWritesBefore = writes(production).length;

    // Act
    const outcome = await runDrillLifecycle(config, SANDBOX_APPLIANCE_TARGET, fast);

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const report = drillReportOf(outcome);
    expect(report).toMatchObject({ outcome: 'passed', destination: `appliance ${LAB_TARGET}`, failedChecks: [] });
    expect(report?.checks.map((check) => [check.name, check.passed, check.observed])).toEqual([
      ['restore completed', true, 'completed'],
      ['software version', true, production.info.sw_version],
      ['hostname', true, LAB_HOSTNAME],
    ]);
    // The copy went to the lab box, byte for byte; the production box saw no upload and no restore.
    expect(lab.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backups/upload'))).toHaveLength(1);
    expect(lab.restores).toHaveLength(1);
    expect(lab.restores[0]?.sha256).toBe(report?.copy.sha256);
    expect(writes(production).slice(productionWritesBefore)).toEqual([]);
    expect(production.restores).toEqual([]);
    const keys = await listKeys(harness.s3, config.archive.bucket, `${config.archive.prefix}${SANDBOX_APPLIANCE_TARGET}/drills/`);
    expect(keys).toHaveLength(1);
    expect(await storedReport(keys[0] ?? '')).toMatchObject({ outcome: 'passed', target: SANDBOX_APPLIANCE_TARGET, copy: { objectKey: report?.copy.objectKey } });
  });

  test('a lab box that answers with another host name fails the drill naming the hostname check; the CLI exits 1', async () => {
    // Prepare
    lab.comeBackAs({ hostname: 'ar11-lab-spare' });
    const errors: string[] = [];

    // Act
    const result = await drillCommand(config, SANDBOX_APPLIANCE_TARGET, { ...quiet, err: (line) => errors.push(line) }, fast);

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.report).toMatchObject({ outcome: 'check-failed', failedChecks: ['hostname'] });
    expect(result.report?.checks.find((check) => check.name === 'hostname')).toMatchObject({ passed: false, expected: LAB_HOSTNAME, observed: 'ar11-lab-spare' });
    expect(errors.join('\n')).toMatch(/check failed: hostname \(appliance-lab answers as ar11-lab-spare, not ar11-drill-lab\)/);
  });

  test('a lab box that comes back from the restore on other software fails the software version check', async () => {
    // Prepare
    lab.comeBackAs({ sw_version: '11.13.1' });

    // Act
    const outcome = await runDrillLifecycle(config, SANDBOX_APPLIANCE_TARGET, fast);

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'DrillCheckFailed' });
    expect(drillReportOf(outcome)).toMatchObject({ outcome: 'check-failed', failedChecks: ['software version'] });
    expect(drillReportOf(outcome)?.checks.find((check) => check.name === 'software version')).toMatchObject({ passed: false, expected: '11.12.0', observed: '11.13.1' });
  });

  test('drill after drill, each of a newer copy, the lab box does not fill up with the earlier drills\' uploads', async () => {
    // Prepare: the lab box holds two backups at most; each drill uploads one.
    lab.setStorageLimit(2);
    const outcomes = [await runDrillLifecycle(config, SANDBOX_APPLIANCE_TARGET, fast)];
    for (let round = 0; round < 2; round++) {
      expect((await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET })).succeeded).toBe(true);

      // Act
      outcomes.push(await runDrillLifecycle(config, SANDBOX_APPLIANCE_TARGET, fast));
    }

    // Assess
    expect(outcomes.map((outcome) => drillReportOf(outcome)?.outcome)).toEqual(['passed', 'passed', 'passed']);
    expect(new Set(lab.restores.map((restore) => restore.sha256)).size).toBe(3);
    expect(lab.backups().length).toBeLessThanOrEqual(1);
  });

  test('a lab box on other software than the backup refuses the restore: the drill fails as a restore failure and the lab box is not restored', async () => {
    // Prepare
    lab.setSwVersion('11.13.1');

    // Act
    const outcome = await runDrillLifecycle(config, SANDBOX_APPLIANCE_TARGET, fast);

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'DrillRestoreFailed' });
    expect(drillReportOf(outcome)).toMatchObject({ outcome: 'restore-failed', restore: { succeeded: false, error: 'SoftwareVersionMismatch' }, checks: [] });
    expect(lab.restores).toEqual([]);
  });

  test('a drill failing on a software mismatch advises only what a drill can do: no option it does not have', async () => {
    // Prepare
    lab.setSwVersion('11.13.1');
    const errors: string[] = [];

    // Act
    const result = await drillCommand(config, SANDBOX_APPLIANCE_TARGET, { ...quiet, err: (line) => errors.push(line) }, fast);

    // Assess
    const said = `${errors.join('\n')}\n${result.report?.restore.cause ?? ''}`;
    expect(result.exitCode).toBe(1);
    expect(said).toMatch(/the drill destination "appliance-lab" runs 11\.13\.1/);
    expect(said).toMatch(/drill\.to/);
    expect(said).not.toMatch(/allowVersionMismatch|--allow-version-mismatch/);
  });
});
