import '../../functions/runtime/node-compat';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { FUNCTIONS, functionArnPlaceholder, type LifecycleSpec } from '../../functions/catalog';
import { REPO_ROOT } from './repo-root';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** What the runner tells a watcher, in the order it happens. */
export type LifecycleEvent =
  | { readonly type: 'state-entered'; readonly state: string; readonly stateType: string; readonly input?: JsonValue }
  | { readonly type: 'state-retried'; readonly state: string; readonly attempt: number; readonly error: string }
  | { readonly type: 'state-failed'; readonly state: string; readonly error: string; readonly cause: string }
  | { readonly type: 'state-caught'; readonly state: string; readonly next: string };

export interface LifecycleOutcome {
  readonly succeeded: boolean;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** What the execution held when it entered the Fail state it ended in (the console shows it as that state's input). */
  readonly failedWith?: unknown;
  /** The states in the order they ran. */
  readonly path: readonly string[];
  /** How many times each state was retried. */
  readonly retries: Readonly<Record<string, number>>;
}

export interface RunLifecycleOptions {
  readonly lifecycle: Pick<LifecycleSpec, 'definitionFile'>;
  /**
   * `${<Placeholder>}` → the lifecycle a `states:startExecution.sync` Task starts (the
   * drill's child restore). Run in-process here: aws-local-stepfunctions has no such integration.
   */
  readonly childLifecycles?: Readonly<Record<string, LifecycleSpec>>;
  readonly input: JsonValue;
  readonly executionName?: string;
  /** Milliseconds per Wait state name; tests shorten the poll waits, the CLI waits for real. */
  readonly waitOverridesMs?: Readonly<Record<string, number>>;
  /** Milliseconds per state name between Retry attempts. */
  readonly retryOverridesMs?: Readonly<Record<string, number>>;
  readonly onEvent?: (event: LifecycleEvent) => void;
  /** Stops the execution (the local Step Functions endpoint's StopExecution): it ends failed with ExecutionAborted. */
  readonly signal?: AbortSignal;
}

// require, not import(): under the package's `offsite` bin only tsx's CommonJS hook is
// registered, and it does not cover import() of a .ts file.
const loadModule = createRequire(__filename);

const LOCAL_ARN_PREFIX = 'arn:aws:lambda:us-east-1:000000000000:function:offsite-local-';
const LOCAL_STATE_MACHINE_PREFIX = 'arn:aws:states:us-east-1:000000000000:stateMachine:offsite-local-';
const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';

/** The same ASL the stack deploys, with each `${<Id>FunctionArn}` filled by a local name. */
export function loadLocalDefinition(lifecycle: Pick<LifecycleSpec, 'definitionFile'>, childLifecycles: Readonly<Record<string, LifecycleSpec>> = {}): StateMachineDefinition {
  let text = readFileSync(join(REPO_ROOT, lifecycle.definitionFile), 'utf8');
  for (const fn of FUNCTIONS) {
    text = text.split(`\${${functionArnPlaceholder(fn.id)}}`).join(`${LOCAL_ARN_PREFIX}${fn.id}`);
  }
  for (const [placeholder, child] of Object.entries(childLifecycles)) text = text.split(`\${${placeholder}}`).join(`${LOCAL_STATE_MACHINE_PREFIX}${child.id}`);
  const unresolved = /\$\{[A-Za-z0-9]+\}/.exec(text);
  if (unresolved) throw new Error(`${lifecycle.definitionFile}: no function in the catalog for ${unresolved[0]}`);
  return JSON.parse(text) as StateMachineDefinition;
}

function lambdaContext(functionId: string, timeoutSeconds: number, executionName: string): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `offsite-local-${functionId}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `${LOCAL_ARN_PREFIX}${functionId}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/offsite/local/${executionName}`,
    logStreamName: functionId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Task state name → the real handler of the function its Resource names, invoked in-process. */
export type StateList = Record<string, { Type: string; Resource?: string; Retry?: unknown[]; ItemProcessor?: { States: StateList }; Iterator?: { States: StateList }; Branches?: Array<{ States: StateList }> }>;

/** Every state, including those inside Map and Parallel states (their Task names must be unique too). */
export function allStates(states: StateList): Array<[string, StateList[string]]> {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, StateList[string]],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor.States) : []),
    ...(state.Iterator ? allStates(state.Iterator.States) : []),
    ...(state.Branches ?? []).flatMap((branch) => allStates(branch.States)),
  ]);
}

/** What a failed child execution fails its `startExecution.sync` Task with, as Step Functions does: States.TaskFailed, the child's description as Cause. */
class ChildExecutionFailed extends Error {
  override readonly name = 'States.TaskFailed';
}

/**
 * The local stand-in for `states:startExecution.sync:2`: the child lifecycle runs in this
 * process with the same overrides, and answers as the integration does — `Output` (JSON),
 * `Status`, `ExecutionArn` — or fails the Task with the child's Error and Cause.
 */
function childExecutionHandler(children: Readonly<Record<string, LifecycleSpec>>, parent: RunLifecycleOptions, executionName: string): (input: JsonValue) => Promise<JsonValue> {
  return async (input) => {
    const { StateMachineArn: arn, Input: childInput } = (input ?? {}) as { StateMachineArn?: string; Input?: JsonValue };
    const child = Object.values(children).find((candidate) => arn === `${LOCAL_STATE_MACHINE_PREFIX}${candidate.id}`);
    if (!child) throw new Error(`startExecution names ${String(arn)}, which is not a lifecycle this run knows`);
    const name = `${executionName}-${child.purpose}`.slice(0, 80);
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:offsite-local-${child.id}:${name}`;
    const { lifecycle: _lifecycle, childLifecycles: _children, input: _input, executionName: _name, ...inherited } = parent;
    const outcome = await runLifecycle({ ...inherited, lifecycle: child, input: childInput ?? {}, executionName: name });
    if (!outcome.succeeded) throw new ChildExecutionFailed(JSON.stringify({ ExecutionArn: executionArn, Status: 'FAILED', Error: outcome.error ?? null, Cause: outcome.cause ?? null }));
    return { ExecutionArn: executionArn, Status: 'SUCCEEDED', Output: (outcome.output ?? null) as JsonValue };
  };
}

function localTaskHandlers(definition: StateMachineDefinition, executionName: string, options?: RunLifecycleOptions): Record<string, (input: JsonValue) => Promise<JsonValue>> {
  const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
  for (const [stateName, state] of allStates(definition.States as unknown as StateList)) {
    if (state.Type !== 'Task') continue;
    if (handlers[stateName]) throw new Error(`Task state name ${stateName} is used twice; the local runner keys handlers by name`);
    const resource = state.Resource ?? '';
    if (resource === START_EXECUTION_SYNC && options?.childLifecycles) {
      handlers[stateName] = childExecutionHandler(options.childLifecycles, options, executionName);
      continue;
    }
    const fn = FUNCTIONS.find((candidate) => resource === `${LOCAL_ARN_PREFIX}${candidate.id}`);
    if (!fn) throw new Error(`Task state ${stateName} calls ${resource}, which is not in the function catalog`);
    const module = loadModule(join(REPO_ROOT, fn.entry)) as { handler: LambdaHandler };
    handlers[stateName] = async (input) => {
      // Round-trip through JSON as Lambda does, so nothing passes locally that would not in AWS.
      const result = await module.handler(JSON.parse(JSON.stringify(input)), lambdaContext(fn.id, fn.timeoutSeconds, executionName));
      return JSON.parse(JSON.stringify(result ?? null)) as JsonValue;
    };
  }
  return handlers;
}

// Validating a definition costs about 0.75 s of CPU (the library compiles its schema each
// time): once per definition text, not once per run, since a fan-out starts a child per target.
const validatedMachines = new Map<string, StateMachine>();

function validatedMachine(definition: StateMachineDefinition): StateMachine {
  const key = JSON.stringify(definition);
  let machine = validatedMachines.get(key);
  if (!machine) {
    machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    validatedMachines.set(key, machine);
  }
  return machine;
}

/** Runs one lifecycle ASL file in-process, with the real handlers as Task overrides. */
export async function runLifecycle(options: RunLifecycleOptions): Promise<LifecycleOutcome> {
  const definition = loadLocalDefinition(options.lifecycle, options.childLifecycles);
  const executionName = options.executionName ?? `local-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  return runDefinition(definition, localTaskHandlers(definition, executionName, options), { ...options, executionName });
}

export type TaskHandlers = Record<string, (input: JsonValue) => Promise<JsonValue>>;
export type RunDefinitionOptions = Omit<RunLifecycleOptions, 'lifecycle' | 'childLifecycles'> & { readonly executionName: string };

/**
 * Runs a definition with the given Task handlers (by state name). runLifecycle uses it
 * for the ASL files; the deploy rehearsal for the definitions as synthesized.
 */
export async function runDefinition(definition: StateMachineDefinition, taskHandlers: TaskHandlers, options: RunDefinitionOptions): Promise<LifecycleOutcome> {
  const { executionName } = options;
  const machine = validatedMachine(definition);
  const execution = machine.run(options.input, {
    overrides: {
      taskResourceLocalHandlers: taskHandlers,
      waitTimeOverrides: { ...options.waitOverridesMs },
      retryIntervalOverrides: { ...options.retryOverridesMs },
    },
    context: { Execution: { Name: executionName } },
  });
  const abort = (): void => execution.abort();
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });

  const path: string[] = [];
  const retries: Record<string, number> = {};
  let failure: { error: string; cause: string } | undefined;
  let failedWith: unknown;
  let output: unknown;
  for await (const event of execution.eventLogs) {
    switch (event.type) {
      case 'StateEntered':
        path.push(event.state.name);
        if (event.state.type === 'Fail' && event.index === undefined) failedWith = event.state.input;
        options.onEvent?.({ type: 'state-entered', state: event.state.name, stateType: event.state.type, input: event.state.input as JsonValue });
        break;
      case 'StateRetried':
        retries[event.state.name] = (retries[event.state.name] ?? 0) + 1;
        options.onEvent?.({ type: 'state-retried', state: event.state.name, attempt: event.retry.attempt, error: event.retry.retrier.ErrorEquals.join('|') });
        break;
      case 'StateFailed':
        options.onEvent?.({ type: 'state-failed', state: event.state.name, error: event.Error, cause: String(event.Cause) });
        break;
      case 'StateCaught':
        options.onEvent?.({ type: 'state-caught', state: event.state.name, next: event.catch.catcher.Next });
        break;
      case 'ExecutionFailed':
        failure = { error: event.Error, cause: describeCause(event.Cause) };
        break;
      case 'ExecutionSucceeded':
        output = event.output;
        break;
      // As Step Functions reports them: an execution stopped from outside, or one past the definition's TimeoutSeconds.
      case 'ExecutionAborted':
        failure = { error: 'ExecutionAborted', cause: 'The execution was stopped before it finished.' };
        break;
      case 'ExecutionTimeout':
        failure = { error: 'ExecutionTimedOut', cause: "The execution ran longer than the state machine's TimeoutSeconds." };
        break;
      default:
        break;
    }
  }
  await execution.result.catch(() => undefined);
  options.signal?.removeEventListener('abort', abort);
  return failure ? { succeeded: false, ...failure, failedWith, path, retries } : { succeeded: true, output, path, retries };
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}
