// The Step Functions calls remote mode makes (and the CloudFormation call that finds the
// state machines), each retried on throttling and turned into one plain RemoteError
// otherwise: an access denial names the IAM action the operator's credentials lack.
import { randomBytes } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';

/** A remote call that failed for good, in words an operator can act on. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RemoteClients {
  readonly sfn: SFNClient;
  readonly cfn: CloudFormationClient;
  /** Waits between retries and polls; tests pass one that does not wait. */
  readonly sleep?: Sleep;
  /** 0 ≤ x < 1, for the retry jitter. */
  readonly random?: () => number;
}

export interface RemoteSettings {
  readonly region: string;
  /** A Step Functions (and CloudFormation) endpoint other than AWS's: the local endpoint of the sandbox and tests. */
  readonly endpoint?: string;
}

/** The standard credential chain (environment, profile, SSO, instance or task role) and the region given. */
export function remoteClients(settings: RemoteSettings): RemoteClients {
  // Retries are ours (withRetries), so that a throttled poll waits with jitter and a
  // denial is reported once, naming the action; the SDK would retry the same errors again.
  const common = { region: settings.region, maxAttempts: 1, ...(settings.endpoint ? { endpoint: settings.endpoint } : {}) };
  return { sfn: new SFNClient(common), cfn: new CloudFormationClient(common) };
}

export const defaultSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const MAX_ATTEMPTS = 6;
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 10_000;

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'TimeoutError',
  'RequestTimeout',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

interface AwsErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

function shapeOf(error: unknown): AwsErrorShape {
  return typeof error === 'object' && error !== null ? (error as AwsErrorShape) : { message: String(error) };
}

function isTransient(error: unknown): boolean {
  const { name, code, $metadata } = shapeOf(error);
  const status = $metadata?.httpStatusCode;
  return TRANSIENT_NAMES.has(name ?? '') || TRANSIENT_CODES.has(code ?? '') || status === 429 || (status !== undefined && status >= 500);
}

/** What one call is, for its error message: the IAM action it needs and what it acts on. */
interface CallSubject {
  readonly action: string;
  readonly resource: string;
}

function plainError(error: unknown, subject: CallSubject): RemoteError {
  const { name = 'Error', message = '' } = shapeOf(error);
  switch (name) {
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'UnauthorizedOperation':
      return new RemoteError(
        `AWS refused ${subject.action} on ${subject.resource}: the credentials in use lack the IAM permission "${subject.action}" (${name}). ` +
          `Grant it (docs/remote.md has a ready policy), or use a profile that has it. AWS said: ${message}`,
      );
    case 'ExecutionDoesNotExist':
      return new RemoteError(`There is no execution ${subject.resource} (ExecutionDoesNotExist): check the name with \`offsite executions <target>\`.`);
    case 'StateMachineDoesNotExist':
      return new RemoteError(`The state machine ${subject.resource} does not exist (StateMachineDoesNotExist): the stack's outputs name a machine that is gone; redeploy the stack.`);
    case 'ExecutionAlreadyExists':
      return new RemoteError(`An execution named ${subject.resource} exists already (ExecutionAlreadyExists); start it again for a new name.`);
    case 'InvalidExecutionInput':
      return new RemoteError(`Step Functions refused the execution input (InvalidExecutionInput): ${message}`);
    case 'CredentialsProviderError':
      return new RemoteError(
        `No AWS credentials for ${subject.action}: remote mode uses the standard chain (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, an instance or task role). ${message}`,
      );
    default:
      if (name === 'ValidationError' && /does not exist/i.test(message)) {
        return new RemoteError(
          `There is no ${subject.resource} (CloudFormation: ${message}). Set "stackName" in the configuration to the stack \`cdk deploy\` created, or pass --stack <name>; the region is archive.region unless --region says otherwise.`,
        );
      }
      return new RemoteError(`${subject.action} on ${subject.resource} failed: ${name}${message ? `: ${message}` : ''}`);
  }
}

/** One call, repeated on throttling and transient failures with capped exponential backoff and full jitter. */
async function withRetries<T>(clients: RemoteClients, subject: CallSubject, send: () => Promise<T>): Promise<T> {
  const sleep = clients.sleep ?? defaultSleep;
  const random = clients.random ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isTransient(error)) {
        const plain = plainError(error, subject);
        if (attempt > 1 && isTransient(error)) plain.message += ` (after ${attempt} attempts)`;
        throw plain;
      }
      await sleep(Math.floor(random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt)));
    }
  }
}

/** The stack's outputs by key (`<LifecycleId>StateMachineArn`, lib/offsite-stack.ts). */
export async function stackOutputs(clients: RemoteClients, stackName: string): Promise<Readonly<Record<string, string>>> {
  const answer = await withRetries(clients, { action: 'cloudformation:DescribeStacks', resource: `stack ${stackName}` }, () =>
    clients.cfn.send(new DescribeStacksCommand({ StackName: stackName })),
  );
  const stack = answer.Stacks?.[0];
  if (!stack) throw new RemoteError(`There is no stack ${stackName}. Set "stackName" in the configuration or pass --stack <name>.`);
  return Object.fromEntries((stack.Outputs ?? []).flatMap((output) => (output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue]] : [])));
}

export function stateMachineOutputKey(lifecycleId: string): string {
  return `${lifecycleId}StateMachineArn`;
}

export function stateMachineArnFrom(outputs: Readonly<Record<string, string>>, lifecycleId: string, stackName: string): string {
  const arn = outputs[stateMachineOutputKey(lifecycleId)];
  if (!arn) {
    throw new RemoteError(
      `The stack ${stackName} has no output ${stateMachineOutputKey(lifecycleId)}: it was deployed without that lifecycle (an older offsite, or another configuration). Deploy this configuration first.`,
    );
  }
  return arn;
}

const NAME_PATTERN = /^([a-z0-9][a-z0-9-]*)_([a-z]+)_(\d{8}T\d{6}Z)_[0-9a-f]+$/;

/**
 * `<target>_<purpose>_<UTC time>_<4 hex>`: findable per target in the console, and at most
 * 78 characters (targets have at most 48, Step Functions allows 80). Target names hold no
 * `_`, so `<target>_` never matches another target's executions.
 */
export function executionName(target: string, purpose: string, now: Date, suffix = randomBytes(2).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${target}_${purpose}_${stamp}_${suffix}`;
}

/** The target an execution name made by executionName carries; undefined for other names (scheduled runs, console starts). */
export function targetOfExecutionName(name: string): string | undefined {
  return NAME_PATTERN.exec(name)?.[1];
}

export async function startExecution(clients: RemoteClients, stateMachineArn: string, name: string, input: unknown): Promise<{ executionArn: string; startDate: Date }> {
  const answer = await withRetries(clients, { action: 'states:StartExecution', resource: stateMachineArn }, () =>
    clients.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })),
  );
  if (!answer.executionArn) throw new RemoteError(`StartExecution on ${stateMachineArn} answered without an execution ARN`);
  return { executionArn: answer.executionArn, startDate: answer.startDate ?? new Date() };
}

export function describeExecution(clients: RemoteClients, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  return withRetries(clients, { action: 'states:DescribeExecution', resource: executionArn }, () => clients.sfn.send(new DescribeExecutionCommand({ executionArn })));
}

export async function stopExecution(clients: RemoteClients, executionArn: string, cause: string): Promise<void> {
  await withRetries(clients, { action: 'states:StopExecution', resource: executionArn }, () =>
    clients.sfn.send(new StopExecutionCommand({ executionArn, error: 'StoppedFromCli', cause })),
  );
}

/**
 * The history events after `afterId`, oldest first. Read newest first and paged with
 * nextToken until a page reaches an event already seen, so each poll of a long execution
 * reads only what is new (a nextToken cannot be resumed once a read reached the end).
 */
export async function historySince(clients: RemoteClients, executionArn: string, afterId: number, pageSize = 100): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await withRetries(clients, { action: 'states:GetExecutionHistory', resource: executionArn }, () =>
      clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: pageSize, includeExecutionData: true, ...(token ? { nextToken: token } : {}) })),
    );
    const events = page.events ?? [];
    const newer = events.filter((event) => (event.id ?? 0) > afterId);
    fresh.push(...newer);
    nextToken = newer.length === events.length ? page.nextToken : undefined;
  } while (nextToken);
  return fresh.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionAborted', 'ExecutionTimedOut']);

export interface FollowOptions {
  /** Detaches (stops following, the execution runs on). */
  readonly signal?: AbortSignal;
  readonly pollInitialMs?: number;
  readonly pollMaxMs?: number;
}

/**
 * Feeds every history event to `onEvent` as it appears, until the execution ends
 * (`'ended'`) or the signal detaches (`'detached'`). Polls while it runs, backing off
 * while nothing happens and starting short again after news.
 */
export async function followHistory(
  clients: RemoteClients,
  executionArn: string,
  onEvent: (event: HistoryEvent) => void,
  options: FollowOptions = {},
): Promise<'ended' | 'detached'> {
  const sleep = clients.sleep ?? defaultSleep;
  const initial = options.pollInitialMs ?? 250;
  const max = options.pollMaxMs ?? 5000;
  let lastId = 0;
  let delay = initial;
  for (;;) {
    if (options.signal?.aborted) return 'detached';
    const events = await historySince(clients, executionArn, lastId);
    for (const event of events) {
      lastId = Math.max(lastId, event.id ?? lastId);
      onEvent(event);
      if (TERMINAL_EVENT_TYPES.has(event.type ?? '')) return 'ended';
    }
    delay = events.length > 0 ? initial : Math.min(max, Math.ceil(delay * 1.6));
    await sleep(delay, options.signal);
  }
}

/**
 * A state machine's executions, newest first, those `keep` accepts, until `want` are found
 * or `maxPages` pages were read (`truncated` then says more may exist).
 */
export async function listExecutions(
  clients: RemoteClients,
  stateMachineArn: string,
  options: { readonly want: number; readonly keep: (item: ExecutionListItem) => boolean | Promise<boolean>; readonly maxPages?: number },
): Promise<{ executions: ExecutionListItem[]; truncated: boolean }> {
  const kept: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const token = nextToken;
    const page = await withRetries(clients, { action: 'states:ListExecutions', resource: stateMachineArn }, () =>
      clients.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100, ...(token ? { nextToken: token } : {}) })),
    );
    pages += 1;
    for (const item of page.executions ?? []) {
      if (kept.length < options.want && (await options.keep(item))) kept.push(item);
    }
    nextToken = page.nextToken;
  } while (nextToken && kept.length < options.want && pages < (options.maxPages ?? 10));
  return { executions: kept, truncated: nextToken !== undefined && kept.length < options.want };
}

/** The last state an execution entered (for a failed one: the state it failed in). */
export async function lastEnteredState(clients: RemoteClients, executionArn: string): Promise<string | undefined> {
  let nextToken: string | undefined;
  for (let pages = 0; pages < 3; pages += 1) {
    const token = nextToken;
    const page = await withRetries(clients, { action: 'states:GetExecutionHistory', resource: executionArn }, () =>
      clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 50, includeExecutionData: false, ...(token ? { nextToken: token } : {}) })),
    );
    const entered = (page.events ?? []).find((event) => event.type?.endsWith('StateEntered') && event.stateEnteredEventDetails?.name);
    if (entered) return entered.stateEnteredEventDetails?.name;
    nextToken = page.nextToken;
    if (!nextToken) return undefined;
  }
  return undefined;
}

/** An execution's ARN from its state machine's ARN and its name (the shape Step Functions gives standard executions). */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
