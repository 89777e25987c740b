import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { CliIo } from '../../bin/cli/commands';
import type { LifecycleEvent } from '../../bin/local/local-runner';
import { HistoryReader } from '../../bin/remote/history';
import { followExecution, remoteFanOutRunner } from '../../bin/remote/remote-runner';
import { lifecycleFor } from '../../functions/catalog';
import { parseConfig } from '../../functions/config/load';
import { describeExecution, executionName, historySince, RemoteError, stackOutputs, startExecution, targetOfExecutionName, type RemoteClients } from '../../bin/remote/sfn';

const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);
const EXECUTION = 'arn:aws:states:eu-west-1:111122223333:execution:offsite-netbox-cloud-backup:netbox-prod_backup_20240101T020000Z_ab12';
const MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:offsite-netbox-cloud-backup';

function clients(): RemoteClients & { slept: number[] } {
  const slept: number[] = [];
  return { sfn: new SFNClient({ region: 'eu-west-1' }), cfn: new CloudFormationClient({ region: 'eu-west-1' }), sleep: (ms) => (slept.push(ms), Promise.resolve()), random: () => 0.5, slept };
}

function awsError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

function capture(): CliIo & { lines: string[] } {
  const lines: string[] = [];
  return { out: (line) => lines.push(line), err: (line) => lines.push(line), errStream: process.stderr, lines };
}

let id = 0;
function event(type: string, details: Partial<HistoryEvent> = {}): HistoryEvent {
  id += 1;
  return { id, previousEventId: id - 1, timestamp: new Date(1_700_000_000_000 + id * 1000), type: type as HistoryEvent['type'], ...details };
}

beforeEach(() => {
  sfnMock.reset();
  cfnMock.reset();
  id = 0;
});

describe('SFN module', () => {
  test('throttling is retried with backoff until the call succeeds', async () => {
    // Prepare
    const remote = clients();
    sfnMock
      .on(StartExecutionCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded', 400))
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded', 400))
      .resolves({ executionArn: EXECUTION, startDate: new Date() });

    // Act
    const started = await startExecution(remote, MACHINE, 'netbox-prod_backup_20240101T020000Z_ab12', { target: 'netbox-prod' });

    // Assess
    expect(started.executionArn).toBe(EXECUTION);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(3);
    expect(remote.slept).toHaveLength(2);
    expect(remote.slept[1]).toBeGreaterThan(remote.slept[0] ?? Infinity);
  });

  test('throttling that never ends fails after a bounded number of attempts, saying so', async () => {
    // Prepare
    const remote = clients();
    sfnMock.on(DescribeExecutionCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 400));

    // Act
    const failure = describeExecution(remote, EXECUTION);

    // Assess
    await expect(failure).rejects.toThrow(/ThrottlingException: Rate exceeded \(after 6 attempts\)/);
    expect(sfnMock.commandCalls(DescribeExecutionCommand)).toHaveLength(6);
  });

  test('access denied names the missing IAM action and is not retried', async () => {
    // Prepare
    const remote = clients();
    sfnMock.on(StartExecutionCommand).rejects(awsError('AccessDeniedException', 'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: states:StartExecution', 400));

    // Act
    const failure = startExecution(remote, MACHINE, 'x', {});

    // Assess
    await expect(failure).rejects.toThrow(RemoteError);
    await expect(failure).rejects.toThrow(`AWS refused states:StartExecution on ${MACHINE}: the credentials in use lack the IAM permission "states:StartExecution"`);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  test('access denied on the stack names cloudformation:DescribeStacks; a missing stack says how to name it', async () => {
    // Prepare
    const remote = clients();
    cfnMock.on(DescribeStacksCommand).rejectsOnce(awsError('AccessDenied', 'not authorized', 403)).rejectsOnce(awsError('ValidationError', 'Stack with id Offsite does not exist', 400));

    // Act
    const denied = stackOutputs(remote, 'Offsite');
    await expect(denied).rejects.toThrow('the credentials in use lack the IAM permission "cloudformation:DescribeStacks"');
    const missing = stackOutputs(remote, 'Offsite');

    // Assess
    await expect(missing).rejects.toThrow(/There is no stack Offsite .*Set "stackName" in the configuration .* or pass --stack <name>/);
  });

  test('backup --all --remote on a stack without the kind\'s fan-out says why (no scheduled target) and what to do, and starts nothing', async () => {
    // Prepare: the stack has the backup machine but no fan-out for it.
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'Offsite', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(0), Outputs: [{ OutputKey: 'VpsBackupStateMachineArn', OutputValue: MACHINE }] }] });
    const config = parseConfig({ archive: { bucket: 'test-offsite-archive', region: 'eu-west-1' }, targets: [{ name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 1, credentials: { secret: 'offsite/vps/web-01' } }] }, 'test');
    const fanOut = remoteFanOutRunner(config, capture(), { remote: true, clients: clients() });

    // Act
    const run = fanOut(lifecycleFor('vps', 'backup'), { lifecycle: 'VpsBackup' }, () => undefined, {});

    // Assess
    await expect(run).rejects.toThrow('The stack Offsite has no fan-out for vps (output VpsBackupFanOutStateMachineArn): it is deployed only for kinds with a scheduled target. Leave the kind out with --kind');
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('an execution that does not exist is reported by name, not as a stack trace', async () => {
    // Prepare
    const remote = clients();
    sfnMock.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: { httpStatusCode: 400 } }));

    // Act
    const failure = describeExecution(remote, EXECUTION);

    // Assess
    await expect(failure).rejects.toThrow(`There is no execution ${EXECUTION} (ExecutionDoesNotExist)`);
  });

  test('history is read page by page with nextToken, newest first, and handed back oldest first', async () => {
    // Prepare
    const remote = clients();
    const all = [event('ExecutionStarted'), event('TaskStateEntered', { stateEnteredEventDetails: { name: 'RequestBackup', input: '{}' } }), event('LambdaFunctionScheduled'), event('LambdaFunctionStarted')];
    sfnMock
      .on(GetExecutionHistoryCommand, { executionArn: EXECUTION, reverseOrder: true })
      .resolvesOnce({ events: [all[3], all[2]] as HistoryEvent[], nextToken: 'page-2' })
      .resolvesOnce({ events: [all[1], all[0]] as HistoryEvent[] });

    // Act
    const events = await historySince(remote, EXECUTION, 0, 2);

    // Assess
    expect(events.map((entry) => entry.id)).toEqual([1, 2, 3, 4]);
    const calls = sfnMock.commandCalls(GetExecutionHistoryCommand);
    expect(calls.map((call) => call.args[0].input.nextToken)).toEqual([undefined, 'page-2']);
  });

  test('a later poll stops paging at the first event it has seen', async () => {
    // Prepare
    const remote = clients();
    sfnMock.on(GetExecutionHistoryCommand).resolvesOnce({ events: [{ id: 6 }, { id: 5 }, { id: 4 }] as HistoryEvent[], nextToken: 'older' });

    // Act
    const events = await historySince(remote, EXECUTION, 4, 3);

    // Assess
    expect(events.map((entry) => entry.id)).toEqual([5, 6]);
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(1);
  });

  test('execution names carry the target and the UTC time, fit 80 characters and map back to the target', () => {
    // Act
    const name = executionName('a'.repeat(48), 'restore', new Date('2024-01-01T02:03:04.567Z'), 'ab12');

    // Assess
    expect(name).toBe(`${'a'.repeat(48)}_restore_20240101T020304Z_ab12`);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(targetOfExecutionName(name)).toBe('a'.repeat(48));
    expect(targetOfExecutionName('5f0c3a7e-scheduled-run')).toBeUndefined();
  });
});

describe('history → the local runner\'s events', () => {
  test('states, a retry and a caught failure read as a local run reports them; the Fail state\'s input and the error end the outcome', () => {
    // Prepare
    const reader = new HistoryReader();
    const history = [
      event('ExecutionStarted'),
      event('TaskStateEntered', { stateEnteredEventDetails: { name: 'RequestBackup', input: '{"target":"t"}' } }),
      event('LambdaFunctionScheduled'),
      event('LambdaFunctionStarted'),
      event('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error: 'VendorThrottled', cause: '{"errorType":"VendorThrottled","errorMessage":"429"}' } }),
      event('LambdaFunctionScheduled'),
      event('LambdaFunctionStarted'),
      event('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error: 'BackupRequestFailed', cause: 'HTTP 500' } }),
      event('TaskStateExited', { stateExitedEventDetails: { name: 'RequestBackup', output: '{}' } }),
      event('FailStateEntered', { stateEnteredEventDetails: { name: 'BackupFailed', input: '{"target":"t","error":{}}' } }),
      event('ExecutionFailed', { executionFailedEventDetails: { error: 'BackupRequestFailed', cause: '{"errorType":"BackupRequestFailed","errorMessage":"NetBox Cloud answered HTTP 500"}' } }),
    ];

    // Act
    const events: LifecycleEvent[] = history.flatMap((entry) => reader.push(entry));
    const outcome = reader.outcome();

    // Assess
    expect(events.map((entry) => `${entry.type} ${entry.state}`)).toEqual([
      'state-entered RequestBackup',
      'state-failed RequestBackup',
      'state-retried RequestBackup',
      'state-failed RequestBackup',
      'state-caught RequestBackup',
      'state-entered BackupFailed',
    ]);
    expect(events[2]).toMatchObject({ attempt: 1, error: 'VendorThrottled' });
    expect(outcome).toMatchObject({ succeeded: false, status: 'FAILED', error: 'BackupRequestFailed', failedWith: { target: 't', error: {} }, path: ['RequestBackup', 'BackupFailed'], retries: { RequestBackup: 1 } });
  });

  test('a timed-out and an aborted execution end failed with the reason in plain words', () => {
    // Prepare
    const timedOut = new HistoryReader();
    const aborted = new HistoryReader();

    // Act
    timedOut.push(event('ExecutionTimedOut', { executionTimedOutEventDetails: {} }));
    aborted.push(event('ExecutionAborted', { executionAbortedEventDetails: { error: 'StoppedFromCli', cause: 'Stopped from the offsite command line.' } }));

    // Assess
    expect(timedOut.outcome()).toMatchObject({ succeeded: false, status: 'TIMED_OUT', error: 'ExecutionTimedOut', cause: expect.stringContaining('TimeoutSeconds') });
    expect(aborted.outcome()).toMatchObject({ succeeded: false, status: 'ABORTED', error: 'ExecutionAborted', cause: 'Stopped from the offsite command line. (StoppedFromCli)' });
  });
});

describe('Ctrl-C while following', () => {
  const running = (): void => {
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [{ id: 1, previousEventId: 0, type: 'ExecutionStarted', timestamp: new Date() }] });
  };

  test('without a terminal the execution is left running, said so, and never stopped', async () => {
    // Prepare
    running();
    const io = capture();

    // Act
    const result = await followExecution({ clients: clients(), io, interrupts: (interrupt) => (interrupt(), () => undefined), choose: () => Promise.resolve(undefined) }, EXECUTION, () => undefined, 'offsite executions t --follow x');

    // Assess
    expect(result).toEqual({ kind: 'left-running', executionArn: EXECUTION });
    expect(sfnMock.commandCalls(StopExecutionCommand)).toHaveLength(0);
    expect(io.lines).toContain(`The execution was left running in Step Functions: ${EXECUTION}`);
    expect(io.lines).toContain('  follow it again with: offsite executions t --follow x');
  });

  test('answering "stop" stops the execution and follows it to its aborted end', async () => {
    // Prepare
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: [{ id: 1, previousEventId: 0, type: 'ExecutionStarted', timestamp: new Date() }] })
      .resolves({ events: [{ id: 2, previousEventId: 1, type: 'ExecutionAborted', timestamp: new Date(), executionAbortedEventDetails: { error: 'StoppedFromCli' } }] });
    sfnMock.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const io = capture();
    let fire = (): void => undefined;

    // Act
    const following = followExecution({ clients: clients(), io, interrupts: (interrupt) => ((fire = interrupt), () => undefined), choose: () => Promise.resolve('stop') }, EXECUTION, () => undefined, 'hint');
    fire();
    const result = await following;

    // Assess
    expect(sfnMock.commandCalls(StopExecutionCommand)).toHaveLength(1);
    expect(result).toMatchObject({ kind: 'ended', outcome: { succeeded: false, status: 'ABORTED' } });
  });
});
