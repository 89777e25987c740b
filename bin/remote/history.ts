// Step Functions history events → the local runner's LifecycleEvents and outcome, so a
// remote run goes through the same reporter (bin/cli/progress.ts) and the same command
// code (bin/cli/commands.ts) as a run in-process.
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { JsonValue, LifecycleEvent, LifecycleOutcome } from '../local/local-runner';

/** How an execution ended, as Step Functions names it. */
export type ExecutionEnd = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface RemoteOutcome extends LifecycleOutcome {
  readonly status?: ExecutionEnd;
}

/** Attempt failures: Lambda integrations (the ASL's Resource is a function ARN) and service integrations. */
const ATTEMPT_FAILED = new Set(['LambdaFunctionFailed', 'LambdaFunctionTimedOut', 'LambdaFunctionStartFailed', 'LambdaFunctionScheduleFailed', 'TaskFailed', 'TaskTimedOut', 'TaskStartFailed', 'TaskSubmitFailed']);
const ATTEMPT_SCHEDULED = new Set(['LambdaFunctionScheduled', 'TaskScheduled']);

function failureDetails(event: HistoryEvent): { error: string; cause: string } {
  const details =
    event.lambdaFunctionFailedEventDetails ??
    event.lambdaFunctionTimedOutEventDetails ??
    event.lambdaFunctionStartFailedEventDetails ??
    event.lambdaFunctionScheduleFailedEventDetails ??
    event.taskFailedEventDetails ??
    event.taskTimedOutEventDetails ??
    event.taskStartFailedEventDetails ??
    event.taskSubmitFailedEventDetails;
  const timedOut = event.type === 'LambdaFunctionTimedOut' || event.type === 'TaskTimedOut';
  return { error: details?.error ?? (timedOut ? 'States.Timeout' : 'States.TaskFailed'), cause: details?.cause ?? '' };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Step Functions truncates large payloads in history; what is left is not JSON.
    return undefined;
  }
}

/** Reads one execution's history in order; feed it every event once. */
export class HistoryReader {
  private readonly byId = new Map<number, HistoryEvent>();
  private readonly stateOfEvent = new Map<number, string>();
  /** The failure of the last attempt per state, until the state retries, is caught or the execution ends. */
  private readonly pendingFailure = new Map<string, string>();
  private readonly attempts = new Map<string, number>();
  private caughtIn: string | undefined;
  private readonly path: string[] = [];
  private readonly retries: Record<string, number> = {};
  private failedWith: unknown;
  private ending: { status: ExecutionEnd; output?: unknown; error?: string; cause?: string } | undefined;

  /** The LifecycleEvents this history event stands for (none, one or two). */
  push(event: HistoryEvent): LifecycleEvent[] {
    const id = event.id ?? 0;
    this.byId.set(id, event);
    const type = event.type ?? '';
    const state = this.owningState(event);
    if (state !== undefined) this.stateOfEvent.set(id, state);
    const out: LifecycleEvent[] = [];

    if (type.endsWith('StateEntered') && event.stateEnteredEventDetails?.name) {
      const name = event.stateEnteredEventDetails.name;
      const stateType = type.slice(0, -'StateEntered'.length);
      if (this.caughtIn !== undefined) {
        out.push({ type: 'state-caught', state: this.caughtIn, next: name });
        this.pendingFailure.delete(this.caughtIn);
        this.caughtIn = undefined;
      }
      this.path.push(name);
      const input = parseJson(event.stateEnteredEventDetails.input);
      if (stateType === 'Fail') this.failedWith = input;
      out.push({ type: 'state-entered', state: name, stateType, ...(input !== undefined ? { input: input as JsonValue } : {}) });
    } else if (ATTEMPT_FAILED.has(type) && state !== undefined) {
      const { error, cause } = failureDetails(event);
      this.pendingFailure.set(state, error);
      out.push({ type: 'state-failed', state, error, cause });
    } else if (ATTEMPT_SCHEDULED.has(type) && state !== undefined) {
      // A new attempt after a failed one: Step Functions records no "retried" event, only this.
      const failed = this.pendingFailure.get(state);
      if (failed !== undefined) {
        const attempt = (this.attempts.get(state) ?? 0) + 1;
        this.attempts.set(state, attempt);
        this.retries[state] = (this.retries[state] ?? 0) + 1;
        this.pendingFailure.delete(state);
        out.push({ type: 'state-retried', state, attempt, error: failed });
      }
    } else if (type.endsWith('StateExited') && state !== undefined && this.pendingFailure.has(state)) {
      // Left after a failure without failing the execution: a Catch sends it on.
      this.caughtIn = state;
    } else if (type === 'ExecutionSucceeded') {
      this.ending = { status: 'SUCCEEDED', output: parseJson(event.executionSucceededEventDetails?.output) };
    } else if (type === 'ExecutionFailed') {
      const details = event.executionFailedEventDetails;
      this.ending = { status: 'FAILED', error: details?.error ?? 'States.Runtime', cause: details?.cause ?? '' };
    } else if (type === 'ExecutionTimedOut') {
      const details = event.executionTimedOutEventDetails;
      this.ending = {
        status: 'TIMED_OUT',
        error: details?.error ?? 'ExecutionTimedOut',
        cause: details?.cause ?? "The execution ran longer than the state machine's TimeoutSeconds and Step Functions stopped it; the vendor may still be working.",
      };
    } else if (type === 'ExecutionAborted') {
      const details = event.executionAbortedEventDetails;
      this.ending = {
        status: 'ABORTED',
        error: 'ExecutionAborted',
        cause: [details?.cause ?? 'The execution was stopped (StopExecution) before it finished; a job already sent to the vendor keeps going.', details?.error ? `(${details.error})` : '']
          .filter(Boolean)
          .join(' '),
      };
    }
    return out;
  }

  /** Whether the execution's end has been read. */
  get ended(): boolean {
    return this.ending !== undefined;
  }

  outcome(): RemoteOutcome {
    const path = [...this.path];
    const retries = { ...this.retries };
    const end = this.ending;
    if (!end) return { succeeded: false, error: 'NotEnded', cause: 'The execution has not ended.', path, retries };
    if (end.status === 'SUCCEEDED') return { succeeded: true, status: end.status, output: end.output, path, retries };
    return { succeeded: false, status: end.status, error: end.error ?? end.status, cause: end.cause ?? '', ...(end.status === 'FAILED' ? { failedWith: this.failedWith } : {}), path, retries };
  }

  /** The state an event belongs to: the nearest StateEntered up its previousEventId chain. */
  private owningState(event: HistoryEvent): string | undefined {
    if (event.type?.endsWith('StateEntered')) return event.stateEnteredEventDetails?.name;
    if (event.type?.endsWith('StateExited')) return event.stateExitedEventDetails?.name;
    const previous = event.previousEventId;
    if (previous === undefined) return undefined;
    const known = this.stateOfEvent.get(previous);
    if (known !== undefined) {
      // The event after a state's exit belongs to no state yet (the next one is entered next).
      return this.byId.get(previous)?.type?.endsWith('StateExited') ? undefined : known;
    }
    return undefined;
  }
}
