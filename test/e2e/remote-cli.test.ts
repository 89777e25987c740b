import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { runLifecycle } from '../../bin/local/local-runner';
import type { LocalEndpoint } from '../../bin/remote/local-endpoint';
import type { SandboxEnvironment } from '../../bin/sandbox/sandbox';
import { startSandboxWithEndpoint } from '../support/sandbox-endpoint';
import { useConfig } from '../../bin/cli/commands';
import { lifecycleFor } from '../../functions/catalog';
import { FAST_WAITS_MS, NO_RETRY_DELAY_MS } from '../support/harness';
import { SANDBOX_RESTORE_INSTANCE } from '../../bin/sandbox/netbox-cloud/sandbox-round';
import { runOffsite, type CliRun } from '../support/cli';

// The CLI as a user runs it: the package's `offsite` bin, in its own process.
/** Vendor times, job ids and request references differ from run to run. */
const normalized = (text: string): string =>
  text.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>').replace(/job \S+/g, 'job <id>');

/** What a failed run says about the failure, without the lines that differ by where it ran (start notice, state list). */
const failureLines = (stderr: string): string[] => {
  const lines = stderr.split('\n');
  const index = lines.findIndex((line) => / failed: /.test(line) && !line.startsWith('  '));
  return index < 0 ? [] : lines.slice(index, index + 2).map(normalized);
};

describe('offsite --remote through the local Step Functions endpoint', () => {
  let sandbox: SandboxEnvironment;
  let endpoint: LocalEndpoint;
  const outputs: string[] = [];
  const run = async (args: string[]): Promise<CliRun> => {
    const result = await runOffsite(args, sandbox.env);
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const remote = (...args: string[]): string[] => [...args, '--remote', '--endpoint', endpoint.url];

  beforeAll(async () => {
    ({ sandbox, endpoint } = await startSandboxWithEndpoint());
  });

  afterAll(async () => {
    await endpoint.stop();
    await sandbox.stop();
  });

  test('backup --remote exits 0, prints the archive key and shows the states as a local run does', async () => {
    // Act
    const result = await run(remote('backup', 'netbox-sandbox'));

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^archived netbox-sandbox: backups\/netbox-sandbox\/.+\.backup$/m);
    expect(result.stderr).toMatch(/Started netbox-sandbox_backup_\d{8}T\d{6}Z_[0-9a-f]{4} on /);
    expect(result.stderr).toMatch(/→ RequestBackup\n(.|\n)*→ CopyToArchive\n/);
    expect(endpoint.executions().at(-1)).toMatchObject({ status: 'SUCCEEDED' });
  });

  test('restore --remote --yes exits 0 with the same summary as a local restore', async () => {
    // Act
    const remoteRun = await run(remote('restore', 'netbox-sandbox', '--backup', 'latest', '--to', SANDBOX_RESTORE_INSTANCE, '--yes'));
    const localRun = await run(['restore', 'netbox-sandbox', '--backup', 'latest', '--to', SANDBOX_RESTORE_INSTANCE, '--yes']);

    // Assess
    expect(remoteRun.code).toBe(0);
    expect(localRun.code).toBe(0);
    expect(normalized(remoteRun.stdout)).toBe(normalized(localRun.stdout));
    expect(remoteRun.stdout).toMatch(new RegExp(`restored netbox-sandbox backup \\S+ .* onto ${SANDBOX_RESTORE_INSTANCE}`));
    expect(JSON.parse(endpoint.executions().find((execution) => execution.name.startsWith('netbox-sandbox_restore_'))?.input ?? '{}')).toEqual({
      target: 'netbox-sandbox',
      backupId: 'latest',
      targetInstanceId: SANDBOX_RESTORE_INSTANCE,
      confirm: SANDBOX_RESTORE_INSTANCE,
    });
  });

  test('a restore the vendor refuses exits 1 with the same reason remotely as locally', async () => {
    // Prepare
    sandbox.netboxCloud.setVersionAvailable(SANDBOX_RESTORE_INSTANCE, false);

    // Act
    const remoteRun = await run(remote('restore', 'netbox-sandbox', '--backup', 'latest', '--to', SANDBOX_RESTORE_INSTANCE, '--yes'));
    const localRun = await run(['restore', 'netbox-sandbox', '--backup', 'latest', '--to', SANDBOX_RESTORE_INSTANCE, '--yes']);
    sandbox.netboxCloud.setVersionAvailable(SANDBOX_RESTORE_INSTANCE, true);

    // Assess
    expect(remoteRun.code).toBe(1);
    expect(localRun.code).toBe(1);
    expect(failureLines(remoteRun.stderr)).toEqual(failureLines(localRun.stderr));
    expect(failureLines(remoteRun.stderr).join('\n')).toMatch(/failed: TargetVersionUnavailable\n {2}NetBox Cloud refused the restore \(HTTP 422\)/);
  });

  test('drill --remote starts the drill machine, whose child restore runs onto the drill instance, and exits 0 with the passed report', async () => {
    // Prepare
    const restoresBefore = sandbox.netboxCloud.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backup-restore/')).length;

    // Act
    const result = await run(remote('drill', 'netbox-sandbox', '--json'));

    // Assess
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { outcome: string; destination: string; failedChecks: string[]; checks: { name: string; passed: boolean }[] };
    expect(report).toMatchObject({ outcome: 'passed', destination: `instance ${SANDBOX_RESTORE_INSTANCE}`, failedChecks: [] });
    expect(report.checks.map((check) => check.name)).toContain('NetBox version');
    expect(result.stderr).toMatch(/→ PlanDrill\n(.|\n)*→ RunRestore\n(.|\n)*→ RunChecks\n(.|\n)*→ WriteReport\n/);
    const restores = sandbox.netboxCloud.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backup-restore/')).slice(restoresBefore);
    expect(restores.map((request) => (request.body as { target_nb_id?: string }).target_nb_id)).toEqual([SANDBOX_RESTORE_INSTANCE]);
    const drill = endpoint.executions().find((execution) => execution.name.startsWith('netbox-sandbox_drill_'));
    expect(drill).toMatchObject({ status: 'SUCCEEDED', stateMachineArn: expect.stringMatching(/:stateMachine:offsite-netbox-cloud-drill$/) });
    // The child restore is a service integration Task on RunRestore, not states of the drill's own.
    expect(drill?.history.filter((event) => event.type === 'TaskScheduled')).toEqual([expect.objectContaining({ taskScheduledEventDetails: expect.objectContaining({ resourceType: 'states', resource: 'startExecution.sync:2' }) })]);
    expect(drill?.history.some((event) => event.type === 'TaskStateEntered' && (event.stateEnteredEventDetails as { name: string }).name === 'RequestRestore')).toBe(false);
  });

  test('an unconfirmed restore --remote exits 2 as locally and starts no execution', async () => {
    // Prepare
    const before = endpoint.executions().length;

    // Act
    const remoteRun = await run(remote('restore', 'netbox-sandbox', '--backup', 'latest'));
    const localRun = await run(['restore', 'netbox-sandbox', '--backup', 'latest']);

    // Assess
    expect(remoteRun.code).toBe(2);
    expect(localRun.code).toBe(2);
    expect(remoteRun.stderr).toBe(localRun.stderr);
    expect(remoteRun.stderr).toContain('Nothing was restored: restoring overwrites nb-a12ff000777. Pass --yes');
    expect(endpoint.executions().length).toBe(before);
  });

  test('a backup whose request never completes exits 1 with the poll timeout, as the local runner ends it', async () => {
    // Prepare
    sandbox.netboxCloud.neverCompleteBackupRequests(true);
    const local = await runLifecycle({ lifecycle: lifecycleFor('netbox-cloud', 'backup'), input: { target: 'netbox-sandbox' }, waitOverridesMs: FAST_WAITS_MS, retryOverridesMs: NO_RETRY_DELAY_MS });

    // Act
    const result = await run(remote('backup', 'netbox-sandbox'));
    sandbox.netboxCloud.neverCompleteBackupRequests(false);

    // Assess
    expect(local).toMatchObject({ succeeded: false, error: 'BackupRequestTimedOut' });
    expect(result.code).toBe(1);
    expect(failureLines(result.stderr)).toEqual([`Backup of netbox-sandbox failed: ${local.error ?? ''}`, `  ${local.cause ?? ''}`].map(normalized));
  });

  test('executions lists the target\'s runs newest first, with the failing state of failed ones', async () => {
    // Act
    const result = await run(['executions', 'netbox-sandbox', '--json', '--endpoint', endpoint.url]);
    const table = await run(['executions', 'netbox-sandbox', '--endpoint', endpoint.url]);

    // Assess
    expect(result.code).toBe(0);
    const listed = JSON.parse(result.stdout) as { executions: { name: string; lifecycle: string; status: string; startDate: string; failedState?: string; error?: string }[] };
    const started = endpoint.executions().filter((execution) => execution.name.startsWith('netbox-sandbox_'));
    expect(listed.executions.map((execution) => execution.name).sort()).toEqual(started.map((execution) => execution.name).sort());
    expect(listed.executions.map((execution) => execution.startDate)).toEqual([...listed.executions.map((execution) => execution.startDate)].sort().reverse());
    expect(listed.executions.map((execution) => `${execution.lifecycle} ${execution.status}`).sort()).toEqual(['backup FAILED', 'backup SUCCEEDED', 'drill SUCCEEDED', 'restore FAILED', 'restore SUCCEEDED']);
    expect(listed.executions).toContainEqual(expect.objectContaining({ lifecycle: 'restore', status: 'FAILED', failedState: 'TargetVersionUnavailable', error: 'TargetVersionUnavailable' }));
    expect(listed.executions).toContainEqual(expect.objectContaining({ lifecycle: 'backup', status: 'FAILED', failedState: 'BackupRequestTimedOut' }));
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^STARTED \(UTC\) +LIFECYCLE +STATUS +DURATION +NAME$/m);
    expect(table.stdout).toContain('in TargetVersionUnavailable: TargetVersionUnavailable — NetBox Cloud refused the restore (HTTP 422)');
  });

  test('executions --follow attaches to a run started elsewhere (a scheduled one) and exits with its outcome; the list finds it by its input', async () => {
    // Prepare: as EventBridge Scheduler starts it, under a name offsite did not choose.
    const sfn = new SFNClient({ region: endpoint.region, endpoint: endpoint.url });
    const arn = endpoint.stateMachineArn(lifecycleFor('netbox-cloud', 'backup').id);
    await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'a1b2c3d4-scheduled', input: JSON.stringify({ target: 'netbox-sandbox' }) }));

    // Act
    const followed = await run(['executions', 'netbox-sandbox', '--follow', 'a1b2c3d4-scheduled', '--endpoint', endpoint.url]);
    const listed = await run(['executions', 'netbox-sandbox', '--json', '--limit', '1', '--endpoint', endpoint.url]);

    // Assess
    expect(followed.code).toBe(0);
    expect(followed.stderr).toContain('→ CopyToArchive');
    expect(followed.stdout).toContain('a1b2c3d4-scheduled succeeded');
    expect((JSON.parse(listed.stdout) as { executions: { name: string }[] }).executions.map((execution) => execution.name)).toEqual(['a1b2c3d4-scheduled']);
  });

  test('executions for a stack that does not exist ends at once with CloudFormation\'s ValidationError, not a hang', async () => {
    // Act
    const result = await run(['executions', 'netbox-sandbox', '--stack', 'Nope', '--endpoint', endpoint.url]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/There is no stack Nope \(CloudFormation: Stack with id Nope does not exist\)/);
  });

  test("backup --all --remote starts each kind's deployed fan-out and prints a line per target and the summary table as a local --all does", async () => {
    // Prepare
    const backedUp = useConfig(sandbox.configPath).targets.filter((target) => target.kind !== 'netbox-proxbox');
    const before = endpoint.executions().length;

    // Act
    const result = await run(remote('backup', '--all'));

    // Assess
    expect(result.code).toBe(0);
    for (const target of backedUp) {
      expect(result.stderr).toContain(`→ ${target.name} (${target.kind}) started`);
      expect(result.stderr).toMatch(new RegExp(`✔ ${target.name} backed up \\([\\d.]+ s\\)`));
      expect(result.stdout).toMatch(new RegExp(`^${target.name}\\s+${target.kind}\\s+ok\\b`, 'm'));
    }
    expect(result.stdout).toMatch(/^TARGET\s+KIND\s+RESULT\s+SECONDS\s+ERROR$/m);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(`${backedUp.length} of ${backedUp.length} target(s) backed up`);
    const fanOuts = endpoint.executions().slice(before);
    expect(fanOuts.map((execution) => [execution.stateMachineArn.split(':').pop(), execution.status]).sort()).toEqual(
      [...new Set(backedUp.map((target) => target.kind))].map((kind) => [`offsite-${kind}-backup-fan-out`, 'SUCCEEDED']).sort(),
    );
    for (const execution of fanOuts) expect(execution.name).toMatch(/^[a-z-]+-all_backup_\d{8}T\d{6}Z_[0-9a-f]{4}$/);
  });

  test('no API key or presigned URL appears in any output or execution history', () => {
    // Prepare
    const secrets = [
      sandbox.netboxCloud.apiKey,
      ...sandbox.netboxCloud.listRetrievals().flatMap((retrieval) => (retrieval.presigned_url ? [retrieval.presigned_url, new URL(retrieval.presigned_url).search] : [])),
    ];
    const histories = endpoint.executions().map((execution) => JSON.stringify(execution.history));

    // Assess
    expect(secrets.length).toBeGreaterThan(1);
    expect(histories.length).toBeGreaterThanOrEqual(5);
    for (const secret of secrets) {
      for (const text of [...outputs, ...histories]) expect(text).not.toContain(secret);
    }
  });
});
