// A local stand-in for the deployed stack, for the sandbox and tests: the subset of the
// Step Functions API that remote mode calls (JSON 1.0, `X-Amz-Target:
// AWSStepFunctions.<Action>`) plus CloudFormation's DescribeStacks (Query protocol, XML)
// for the stack's `<LifecycleId>StateMachineArn` outputs, on 127.0.0.1. Executions run the
// real ASL with the real handlers through the local runner, in this process; their
// history is built from the runner's events in the shapes Step Functions records for
// Lambda Tasks. A drill machine's child restore (`states:startExecution.sync:2`) runs
// in-process inside the drill's execution, as the local runner runs it: its history is
// Task events on the drill's RunRestore state, and it is not listed as an execution of its
// own (in AWS it is one, on the restore machine). Each backup lifecycle's fan-out
// (`<LifecycleId>FanOutStateMachineArn`) runs its targets' child executions the same way.
// Not emulated: request signatures and IAM (any credentials are accepted),
// quotas and throttling, express workflows, redrive, history of Map/Parallel branches as
// separate chains, and state output in StateExited (the next state's input stands in).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LIFECYCLES, lifecycleFor, type LifecycleSpec } from '../../functions/catalog';
import { DRILL_LIFECYCLES, RESTORE_STATE_MACHINE_PLACEHOLDER, type DrillLifecycleSpec } from '../../functions/drill/jobs';
import { DEFAULT_STACK_NAME } from '../../functions/config/schema';
import { FAN_OUT_DEFINITION_FILE, LIFECYCLE_STATE_MACHINE_PLACEHOLDER } from '../../functions/fleet/jobs';
import { allStates, loadLocalDefinition, runLifecycle, type JsonValue, type LifecycleEvent, type LifecycleOutcome, type StateList } from '../local/local-runner';
import { stateMachineOutputKey } from './sfn';

const ACCOUNT = '000000000000';
const MAX_BODY_BYTES = 1024 * 1024;
/** Step Functions' own limit on execution names. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** A backup lifecycle's fan-out (state-machines/fan-out.asl.json), keyed in the outputs as `<LifecycleId>FanOutStateMachineArn`. */
interface FanOutMachine {
  readonly id: string;
  readonly kind: LifecycleSpec['kind'];
  readonly purpose: 'backup-fan-out';
  readonly definitionFile: string;
  readonly child: LifecycleSpec;
}
type LocalMachine = LifecycleSpec | DrillLifecycleSpec | FanOutMachine;

export interface LocalEndpointOptions {
  readonly region?: string;
  readonly stackName?: string;
  /** As the local runner takes them: tests shorten poll waits and retry delays. */
  readonly waitOverridesMs?: Readonly<Record<string, number>>;
  readonly retryOverridesMs?: Readonly<Record<string, number>>;
}

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

type HistoryRecord = { id: number; previousEventId: number; timestamp: number; type: string } & Record<string, unknown>;

export interface LocalExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: number;
  status: Status;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: HistoryRecord[];
  readonly stop: AbortController;
  stoppedWith?: { error?: string; cause?: string };
  /** Settles when the execution has ended (tests and the sandbox wait for it before stopping the endpoint). */
  done: Promise<void>;
}

export interface LocalEndpoint {
  /** For `--endpoint`: both the Step Functions and the CloudFormation client are pointed here. */
  readonly url: string;
  readonly region: string;
  readonly stackName: string;
  stateMachineArn(lifecycleId: string): string;
  /** Every execution started, oldest first. */
  executions(): readonly LocalExecution[];
  stop(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const seconds = (ms: number): number => ms / 1000;

/** History events for one execution, in the shapes Step Functions records for Lambda Tasks. */
class HistoryWriter {
  private open: { name: string; type: string; failed: boolean } | undefined;

  constructor(
    private readonly history: HistoryRecord[],
    private readonly resources: ReadonlyMap<string, string>,
  ) {}

  add(type: string, details: Record<string, unknown> = {}): void {
    const previous = this.history.at(-1)?.id ?? 0;
    this.history.push({ id: previous + 1, previousEventId: previous, timestamp: seconds(Date.now()), type, ...details });
  }

  private closeOpen(output: string): void {
    const open = this.open;
    if (!open) return;
    if (open.type === 'Task' && !open.failed) {
      const integration = this.integration(open.name);
      if (integration) this.add('TaskSucceeded', { taskSucceededEventDetails: { ...integration, output } });
      else this.add('LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output } });
    }
    if (open.type !== 'Fail') this.add(`${open.type}StateExited`, { stateExitedEventDetails: { name: open.name, output } });
    this.open = undefined;
  }

  /** A service integration (the drill's child execution) records Task events, a Lambda Task LambdaFunction events. */
  private integration(name: string): { resourceType: string; resource: string } | undefined {
    const match = /^arn:aws:states:::([a-z]+):(.+)$/.exec(this.resources.get(name) ?? '');
    return match?.[1] && match[2] ? { resourceType: match[1], resource: match[2] } : undefined;
  }

  private attempt(name: string, input: string): void {
    const integration = this.integration(name);
    if (integration) {
      this.add('TaskScheduled', { taskScheduledEventDetails: { ...integration, region: 'local', parameters: input } });
      this.add('TaskStarted', { taskStartedEventDetails: integration });
      return;
    }
    this.add('LambdaFunctionScheduled', { lambdaFunctionScheduledEventDetails: { resource: this.resources.get(name) ?? name, input } });
    this.add('LambdaFunctionStarted');
  }

  onEvent(event: LifecycleEvent): void {
    switch (event.type) {
      case 'state-entered': {
        const input = JSON.stringify(event.input ?? null);
        this.closeOpen(input);
        this.add(`${event.stateType}StateEntered`, { stateEnteredEventDetails: { name: event.state, input } });
        this.open = { name: event.state, type: event.stateType, failed: false };
        if (event.stateType === 'Task') this.attempt(event.state, input);
        break;
      }
      case 'state-failed':
        if (this.open?.type === 'Task') {
          const integration = this.integration(this.open.name);
          if (integration) this.add('TaskFailed', { taskFailedEventDetails: { ...integration, error: event.error, cause: event.cause } });
          else this.add('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error: event.error, cause: event.cause } });
          this.open.failed = true;
        }
        break;
      case 'state-retried':
        if (this.open) {
          this.open.failed = false;
          this.attempt(event.state, '{}');
        }
        break;
      case 'state-caught':
        break;
    }
  }

  end(outcome: LifecycleOutcome, stoppedWith: { error?: string; cause?: string } | undefined): Status {
    if (outcome.succeeded) {
      const output = JSON.stringify(outcome.output ?? null);
      this.closeOpen(output);
      this.add('ExecutionSucceeded', { executionSucceededEventDetails: { output } });
      return 'SUCCEEDED';
    }
    if (outcome.error === 'ExecutionAborted') {
      this.add('ExecutionAborted', { executionAbortedEventDetails: { ...stoppedWith } });
      return 'ABORTED';
    }
    if (outcome.error === 'ExecutionTimedOut') {
      this.add('ExecutionTimedOut', { executionTimedOutEventDetails: { error: 'States.Timeout', cause: outcome.cause } });
      return 'TIMED_OUT';
    }
    this.add('ExecutionFailed', { executionFailedEventDetails: { error: outcome.error, cause: outcome.cause } });
    return 'FAILED';
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

const xmlEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function pageOf<T>(items: readonly T[], maxResults: unknown, nextToken: unknown): { page: T[]; nextToken?: string } {
  const size = typeof maxResults === 'number' && maxResults > 0 ? Math.min(maxResults, 1000) : 100;
  const start = typeof nextToken === 'string' ? Number(Buffer.from(nextToken, 'base64').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw new ApiError('InvalidToken', 'Invalid Token');
  const page = items.slice(start, start + size);
  return start + size < items.length ? { page, nextToken: Buffer.from(String(start + size)).toString('base64') } : { page };
}

/** Starts the endpoint on 127.0.0.1 (a free port). The process's environment must let the handlers run (OFFSITE_CONFIG, credentials), as for a local run. */
export async function startLocalEndpoint(options: LocalEndpointOptions = {}): Promise<LocalEndpoint> {
  const region = options.region ?? 'us-east-1';
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const namePrefix = stackName.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  // Named as the stack names them (lib/offsite-stack.ts, lib/drills.ts, lib/fleet-fan-out.ts):
  // <prefix>-<kind>-<purpose>, and each backup lifecycle's fan-out <prefix>-<kind>-backup-fan-out.
  const fanOuts = LIFECYCLES.filter((lifecycle) => lifecycle.purpose === 'backup').map(
    (child): FanOutMachine => ({ id: `${child.id}FanOut`, kind: child.kind, purpose: 'backup-fan-out', definitionFile: FAN_OUT_DEFINITION_FILE, child }),
  );
  const machines = new Map<string, LocalMachine>(
    [...LIFECYCLES, ...DRILL_LIFECYCLES, ...fanOuts].map((lifecycle) => [`arn:aws:states:${region}:${ACCOUNT}:stateMachine:${namePrefix}-${lifecycle.kind}-${lifecycle.purpose}`, lifecycle]),
  );
  /** A drill machine's one child, the kind's restore machine, as the stack fills its ${RestoreStateMachineArn}; a fan-out's, its lifecycle's. */
  const childrenOf = (lifecycle: LocalMachine): Record<string, LifecycleSpec> =>
    'child' in lifecycle
      ? { [LIFECYCLE_STATE_MACHINE_PLACEHOLDER]: lifecycle.child }
      : lifecycle.purpose === 'drill'
        ? { [RESTORE_STATE_MACHINE_PLACEHOLDER]: lifecycleFor(lifecycle.kind, 'restore') }
        : {};
  const arnOf = (lifecycleId: string): string => {
    const found = [...machines].find(([, lifecycle]) => lifecycle.id === lifecycleId);
    if (!found) throw new Error(`No lifecycle ${lifecycleId}`);
    return found[0];
  };
  const executions = new Map<string, LocalExecution>();

  const execution = (arn: unknown): LocalExecution => {
    const found = typeof arn === 'string' ? executions.get(arn) : undefined;
    if (!found) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
    return found;
  };

  const start = (body: Record<string, unknown>): Record<string, unknown> => {
    const stateMachineArn = String(body.stateMachineArn ?? '');
    const lifecycle = machines.get(stateMachineArn);
    if (!lifecycle) throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const name = typeof body.name === 'string' ? body.name : randomUUID();
    if (!EXECUTION_NAME.test(name)) throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    if (executions.has(executionArn)) throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    const inputText = typeof body.input === 'string' ? body.input : '{}';
    let input: JsonValue;
    try {
      input = JSON.parse(inputText) as JsonValue;
    } catch {
      throw new ApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    }
    const states = allStates(loadLocalDefinition(lifecycle, childrenOf(lifecycle)).States as unknown as StateList);
    const resources = new Map(states.flatMap(([stateName, state]) => (state.Resource ? [[stateName, state.Resource] as [string, string]] : [])));
    const record: LocalExecution = {
      executionArn,
      stateMachineArn,
      name,
      input: inputText,
      startDate: seconds(Date.now()),
      status: 'RUNNING',
      history: [],
      stop: new AbortController(),
      done: Promise.resolve(),
    };
    const writer = new HistoryWriter(record.history, resources);
    writer.add('ExecutionStarted', { executionStartedEventDetails: { input: inputText, inputDetails: { truncated: false }, roleArn: `arn:aws:iam::${ACCOUNT}:role/${namePrefix}-local` } });
    executions.set(executionArn, record);
    // The local runner tells the child's states to the same watcher; the drill's history holds its own states only.
    const own = new Set(states.map(([stateName]) => stateName));
    for (const child of Object.values(childrenOf(lifecycle))) {
      const shared = allStates(loadLocalDefinition(child).States as unknown as StateList).find(([stateName]) => own.has(stateName));
      if (shared) throw new ApiError('InternalFailure', `${lifecycle.definitionFile} and ${child.definitionFile} both have a state ${shared[0]}: the local endpoint tells their states apart by name`, 500);
    }
    record.done = runLifecycle({
      lifecycle,
      childLifecycles: childrenOf(lifecycle),
      input,
      executionName: name,
      onEvent: (event) => {
        if (own.has(event.state)) writer.onEvent(event);
      },
      signal: record.stop.signal,
      ...(options.waitOverridesMs ? { waitOverridesMs: options.waitOverridesMs } : {}),
      ...(options.retryOverridesMs ? { retryOverridesMs: options.retryOverridesMs } : {}),
    })
      .catch((error: unknown): LifecycleOutcome => ({ succeeded: false, error: 'States.Runtime', cause: error instanceof Error ? error.message : String(error), path: [], retries: {} }))
      .then((outcome) => {
        record.status = writer.end(outcome, record.stoppedWith);
        record.stopDate = seconds(Date.now());
        if (outcome.succeeded) record.output = JSON.stringify(outcome.output ?? null);
        else if (record.status === 'ABORTED') Object.assign(record, record.stoppedWith);
        else Object.assign(record, { error: outcome.error, cause: outcome.cause });
      });
    return { executionArn, startDate: record.startDate };
  };

  const describe = (record: LocalExecution): Record<string, unknown> => ({
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: record.startDate,
    input: record.input,
    ...(record.stopDate !== undefined ? { stopDate: record.stopDate } : {}),
    ...(record.output !== undefined ? { output: record.output } : {}),
    ...(record.error !== undefined ? { error: record.error } : {}),
    ...(record.cause !== undefined ? { cause: record.cause } : {}),
  });

  const actions: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    StartExecution: start,
    DescribeExecution: (body) => describe(execution(body.executionArn)),
    GetExecutionHistory: (body) => {
      const record = execution(body.executionArn);
      const ordered = body.reverseOrder === true ? [...record.history].reverse() : record.history;
      const withData = body.includeExecutionData === false ? ordered.map(withoutData) : ordered;
      const { page, nextToken } = pageOf(withData, body.maxResults, body.nextToken);
      return { events: page, ...(nextToken ? { nextToken } : {}) };
    },
    ListExecutions: (body) => {
      const stateMachineArn = String(body.stateMachineArn ?? '');
      if (!machines.has(stateMachineArn)) throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
      const listed = [...executions.values()]
        .filter((record) => record.stateMachineArn === stateMachineArn && (body.statusFilter === undefined || record.status === body.statusFilter))
        .reverse()
        .map((record) => ({
          executionArn: record.executionArn,
          stateMachineArn,
          name: record.name,
          status: record.status,
          startDate: record.startDate,
          ...(record.stopDate !== undefined ? { stopDate: record.stopDate } : {}),
        }));
      const { page, nextToken } = pageOf(listed, body.maxResults, body.nextToken);
      return { executions: page, ...(nextToken ? { nextToken } : {}) };
    },
    StopExecution: (body) => {
      const record = execution(body.executionArn);
      if (record.status === 'RUNNING') {
        record.stoppedWith = { ...(typeof body.error === 'string' ? { error: body.error } : {}), ...(typeof body.cause === 'string' ? { cause: body.cause } : {}) };
        record.stop.abort();
      }
      return { stopDate: seconds(Date.now()) };
    },
  };

  const describeStacks = (form: URLSearchParams): string => {
    const requested = form.get('StackName');
    if (requested !== null && requested !== stackName) throw new ApiError('ValidationError', `Stack with id ${requested} does not exist`);
    const outputs = [...machines]
      .map(([arn, lifecycle]) => `<member><OutputKey>${xmlEscape(stateMachineOutputKey(lifecycle.id))}</OutputKey><OutputValue>${xmlEscape(arn)}</OutputValue></member>`)
      .join('');
    return (
      `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
      `<StackName>${xmlEscape(stackName)}</StackName><StackId>arn:aws:cloudformation:${region}:${ACCOUNT}:stack/${xmlEscape(stackName)}/local</StackId>` +
      `<StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>${new Date(0).toISOString()}</CreationTime><Outputs>${outputs}</Outputs>` +
      `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`
    );
  };

  // Each answer is computed whole before its status line is written: a handler that throws
  // after writeHead could no longer send its error, and the client would wait for ever.
  const sfnAnswer = (target: string, body: string): { status: number; body: string } => {
    try {
      const action = actions[target.slice('AWSStepFunctions.'.length)];
      if (!action) throw new ApiError('UnknownOperationException', `The local endpoint does not offer ${target}`);
      let parsed: unknown;
      try {
        parsed = body ? JSON.parse(body) : {};
      } catch {
        throw new ApiError('SerializationException', 'The request body is not JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ApiError('SerializationException', 'The request body is not a JSON object');
      return { status: 200, body: JSON.stringify(action(parsed as Record<string, unknown>)) };
    } catch (error) {
      const failure = error instanceof ApiError ? error : new ApiError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
      return { status: failure.status, body: JSON.stringify({ __type: `com.amazonaws.swf.service.model#${failure.code}`, message: failure.message }) };
    }
  };

  /** CloudFormation's Query protocol: the XML answer, or its ErrorResponse (Sender errors 400, ours 500). */
  const cloudFormationAnswer = (form: URLSearchParams): { status: number; body: string } => {
    try {
      const action = form.get('Action');
      if (action !== 'DescribeStacks') throw new ApiError('InvalidAction', `The local endpoint offers CloudFormation DescribeStacks only, not ${action ?? '(no Action)'}`);
      return { status: 200, body: describeStacks(form) };
    } catch (error) {
      const failure = error instanceof ApiError ? error : new ApiError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
      return {
        status: failure.status,
        body:
          `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>${failure.status < 500 ? 'Sender' : 'Receiver'}</Type>` +
          `<Code>${xmlEscape(failure.code)}</Code><Message>${xmlEscape(failure.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      };
    }
  };

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('AWSStepFunctions.')) {
      const result = sfnAnswer(target, body);
      response.writeHead(result.status, { 'content-type': 'application/x-amz-json-1.0' }).end(result.body);
      return;
    }
    const result = cloudFormationAnswer(new URLSearchParams(body));
    response.writeHead(result.status, { 'content-type': 'text/xml' }).end(result.body);
  };

  const server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      if (response.headersSent) response.destroy();
      else response.writeHead(500, { 'content-type': 'text/plain' }).end(`The local endpoint failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    region,
    stackName,
    stateMachineArn: arnOf,
    executions: () => [...executions.values()],
    async stop() {
      for (const record of executions.values()) record.stop.abort();
      await Promise.all([...executions.values()].map((record) => record.done));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** History without inputs and outputs (includeExecutionData: false). */
function withoutData(event: HistoryRecord): HistoryRecord {
  const stripped: HistoryRecord = { ...event };
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && typeof value === 'object' && value !== null) {
      const { input: _input, output: _output, ...rest } = value as Record<string, unknown>;
      stripped[key] = rest;
    }
  }
  return stripped;
}
