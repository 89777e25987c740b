// The AWS CLI (python3 -m awscli, v1 on these machines' image) against offsite's local Step
// Functions endpoint: if the CLI rejects an answer's shape, the endpoint is wrong.
import { spawn } from 'node:child_process';
import type { LocalEndpoint } from '../../bin/remote/local-endpoint';
import type { SandboxEnvironment } from '../../bin/sandbox/sandbox';
import { startSandboxWithEndpoint } from '../support/sandbox-endpoint';
import { lifecycleFor } from '../../functions/catalog';
import { SANDBOX_APPLIANCE_TARGET } from '../../bin/sandbox/appliance/sandbox-round';
import { SANDBOX_NETBOX_TARGET, SANDBOX_RESTORE_INSTANCE } from '../../bin/sandbox/netbox-cloud/sandbox-round';

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Execution {
  readonly executionArn: string;
  readonly name: string;
  readonly status: string;
}

interface HistoryPage {
  readonly events: { readonly id: number; readonly type: string }[];
  readonly NextToken?: string;
}

describe('the AWS CLI against the local Step Functions endpoint', () => {
  let sandbox: SandboxEnvironment;
  let endpoint: LocalEndpoint;

  /** One CLI call: dummy credentials (the endpoint checks none), short timeouts so a missing answer fails instead of hanging. */
  const aws = (...args: string[]): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn('python3', ['-m', 'awscli', ...args, '--endpoint-url', endpoint.url, '--output', 'json', '--cli-read-timeout', '15', '--cli-connect-timeout', '5'], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: sandbox.directory,
          AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
          AWS_SECRET_ACCESS_KEY: 'local-secret',
          AWS_DEFAULT_REGION: endpoint.region,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_MAX_ATTEMPTS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });

  const awsJson = async <T>(...args: string[]): Promise<T> => {
    const result = await aws(...args);
    if (result.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${String(result.code)}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };

  const machine = (kind: 'netbox-cloud' | 'appliance', purpose: 'backup' | 'restore'): string => endpoint.stateMachineArn(lifecycleFor(kind, purpose).id);

  /** Waits on the endpoint's own record, which the CLI then describes. */
  const finished = async (executionArn: string): Promise<void> => {
    const record = endpoint.executions().find((execution) => execution.executionArn === executionArn);
    if (!record) throw new Error(`no execution ${executionArn}`);
    await record.done;
  };

  beforeAll(async () => {
    ({ sandbox, endpoint } = await startSandboxWithEndpoint());
  });

  afterAll(async () => {
    await endpoint?.stop();
    await sandbox?.stop();
  });

  test('describe-stacks lists the stack with a state machine output per lifecycle', async () => {
    // Act
    const answer = await awsJson<{ Stacks: { StackName: string; StackStatus: string; Outputs: { OutputKey: string; OutputValue: string }[] }[] }>('cloudformation', 'describe-stacks', '--stack-name', endpoint.stackName);

    // Assess
    expect(answer.Stacks).toHaveLength(1);
    expect(answer.Stacks[0]).toMatchObject({ StackName: endpoint.stackName, StackStatus: 'CREATE_COMPLETE' });
    expect(answer.Stacks[0]?.Outputs.map((output) => output.OutputValue)).toContain(machine('netbox-cloud', 'restore'));
  });

  test('describe-stacks of a stack that does not exist answers ValidationError, as CloudFormation does', async () => {
    // Act
    const result = await aws('cloudformation', 'describe-stacks', '--stack-name', 'Nope');

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\(ValidationError\) when calling the DescribeStacks operation: Stack with id Nope does not exist/);
  });

  test("start-execution with the README's console inputs runs a backup and a restore; describe-execution reports them", async () => {
    // Prepare
    const backupInput = JSON.stringify({ target: SANDBOX_NETBOX_TARGET });
    const restoreInput = JSON.stringify({ target: SANDBOX_NETBOX_TARGET, backupId: 'latest', targetInstanceId: SANDBOX_RESTORE_INSTANCE, confirm: SANDBOX_RESTORE_INSTANCE });

    // Act
    const backup = await awsJson<{ executionArn: string; startDate: number }>('stepfunctions', 'start-execution', '--state-machine-arn', machine('netbox-cloud', 'backup'), '--input', backupInput);
    await finished(backup.executionArn);
    const restore = await awsJson<{ executionArn: string }>('stepfunctions', 'start-execution', '--state-machine-arn', machine('netbox-cloud', 'restore'), '--name', 'console-restore', '--input', restoreInput);
    await finished(restore.executionArn);
    const described = await awsJson<Record<string, unknown>>('stepfunctions', 'describe-execution', '--execution-arn', restore.executionArn);

    // Assess
    // AWS CLI v1 prints timestamps as it received them (epoch seconds) unless cli_timestamp_format says otherwise.
    expect(backup.startDate).toEqual(expect.any(Number));
    expect(await awsJson<Record<string, unknown>>('stepfunctions', 'describe-execution', '--execution-arn', backup.executionArn)).toMatchObject({ status: 'SUCCEEDED' });
    expect(described).toMatchObject({ name: 'console-restore', status: 'SUCCEEDED', input: restoreInput, stateMachineArn: machine('netbox-cloud', 'restore') });
    expect(described.stopDate).toEqual(expect.any(Number));
  });

  test('an appliance restore without its confirmation fails in RestoreNotConfirmed, as the README says', async () => {
    // Act
    const started = await awsJson<{ executionArn: string }>(
      'stepfunctions', 'start-execution', '--state-machine-arn', machine('appliance', 'restore'), '--input', JSON.stringify({ target: SANDBOX_APPLIANCE_TARGET, backupId: 'latest' }),
    );
    await finished(started.executionArn);
    const described = await awsJson<Record<string, unknown>>('stepfunctions', 'describe-execution', '--execution-arn', started.executionArn);

    // Assess
    expect(described).toMatchObject({ status: 'FAILED', error: 'RestoreNotConfirmed' });
  });

  test('get-execution-history pages with --max-items and --starting-token and the pages add up to the whole history', async () => {
    // Prepare
    const restore = endpoint.executions().find((execution) => execution.name === 'console-restore');
    if (!restore) throw new Error('the restore of the start-execution test is missing');

    // Act
    const pages: HistoryPage[] = [];
    let token: string | undefined;
    do {
      const page: HistoryPage = await awsJson<HistoryPage>('stepfunctions', 'get-execution-history', '--execution-arn', restore.executionArn, '--max-items', '15', '--page-size', '6', ...(token ? ['--starting-token', token] : []));
      pages.push(page);
      token = page.NextToken;
    } while (token && pages.length < 50);

    // Assess
    expect(pages.length).toBeGreaterThan(2);
    for (const page of pages.slice(0, -1)) expect(page.events).toHaveLength(15);
    const ids = pages.flatMap((page) => page.events.map((event) => event.id));
    expect(ids).toEqual(restore.history.map((event) => event.id));
    expect(pages[0]?.events[0]?.type).toBe('ExecutionStarted');
    expect(pages.at(-1)?.events.at(-1)?.type).toBe('ExecutionSucceeded');
  });

  test('list-executions with a status filter lists only executions in that status, newest first', async () => {
    // Act
    const succeeded = await awsJson<{ executions: Execution[] }>('stepfunctions', 'list-executions', '--state-machine-arn', machine('netbox-cloud', 'restore'), '--status-filter', 'SUCCEEDED');
    const failed = await awsJson<{ executions: Execution[] }>('stepfunctions', 'list-executions', '--state-machine-arn', machine('appliance', 'restore'), '--status-filter', 'FAILED');
    const running = await awsJson<{ executions: Execution[] }>('stepfunctions', 'list-executions', '--state-machine-arn', machine('appliance', 'restore'), '--status-filter', 'RUNNING');

    // Assess
    expect(succeeded.executions.map((execution) => [execution.name, execution.status])).toEqual([['console-restore', 'SUCCEEDED']]);
    expect(failed.executions).toHaveLength(1);
    expect(failed.executions[0]?.status).toBe('FAILED');
    expect(running.executions).toEqual([]);
  });

  test('stop-execution aborts a running execution, and describe-execution says so with the error and cause given', async () => {
    // Prepare: a backup request that never completes keeps the execution polling.
    sandbox.netboxCloud.neverCompleteBackupRequests(true);
    const started = await awsJson<{ executionArn: string }>('stepfunctions', 'start-execution', '--state-machine-arn', machine('netbox-cloud', 'backup'), '--input', JSON.stringify({ target: SANDBOX_NETBOX_TARGET }));

    // Act
    const stopped = await awsJson<{ stopDate: number }>('stepfunctions', 'stop-execution', '--execution-arn', started.executionArn, '--error', 'Operator', '--cause', 'stopped from the AWS CLI');
    await finished(started.executionArn);
    sandbox.netboxCloud.neverCompleteBackupRequests(false);
    const described = await awsJson<Record<string, unknown>>('stepfunctions', 'describe-execution', '--execution-arn', started.executionArn);

    // Assess
    expect(stopped.stopDate).toEqual(expect.any(Number));
    expect(described).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'stopped from the AWS CLI' });
  });

  test('an execution that does not exist is ExecutionDoesNotExist, parsed by the CLI', async () => {
    // Act
    const result = await aws('stepfunctions', 'describe-execution', '--execution-arn', `${machine('netbox-cloud', 'backup').replace(':stateMachine:', ':execution:')}:nope`);

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\(ExecutionDoesNotExist\) when calling the DescribeExecution operation/);
  });
});
