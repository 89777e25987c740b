import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOWNLOAD_IDLE_TIMEOUT_MS, IDLE_CHECK_EVERY_MS } from '../../functions/archive/copier';
import { LIFECYCLES } from '../../functions/catalog';
import { REPO_ROOT } from '../../bin/local/repo-root';

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

interface State {
  Type: string;
  Next?: string;
  Resource?: string;
  Retry?: Retrier[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  SecondsPath?: string;
  Seconds?: number;
  Choices?: { Variable?: string; Next: string }[];
}

const definitions = LIFECYCLES.map((lifecycle) => ({
  file: lifecycle.definitionFile,
  states: (JSON.parse(readFileSync(join(REPO_ROOT, lifecycle.definitionFile), 'utf8')) as { States: Record<string, State> }).States,
}));

// Calls that create something at the vendor: a repeat could start a second restore or backup.
const CREATING_TASKS = ['RequestBackup', 'RequestRetrieval', 'RequestRestore'];
const SAFE_TO_REPEAT_FOR_CREATING = new Set(['RateLimited', 'Lambda.TooManyRequestsException']);

/** The retrier Step Functions picks for an error: the first whose ErrorEquals matches it. */
function retrierFor(state: State, error: string): Retrier | undefined {
  return state.Retry?.find((retrier) => retrier.ErrorEquals.some((name) => name === error || name === 'States.ALL' || name === 'States.TaskFailed'));
}

/** Retries, and the longest total wait between attempts (FULL jitter waits at most the computed interval). */
function retryBudget(retrier: Retrier | undefined): { retries: number; longestWaitSeconds: number } {
  const retries = retrier ? (retrier.MaxAttempts ?? 3) : 0;
  let longestWaitSeconds = 0;
  for (let attempt = 0; attempt < retries; attempt += 1) {
    const interval = (retrier?.IntervalSeconds ?? 1) * (retrier?.BackoffRate ?? 2) ** attempt;
    longestWaitSeconds += Math.min(interval, retrier?.MaxDelaySeconds ?? Infinity);
  }
  return { retries, longestWaitSeconds };
}

const STALL_REPORTED_WITHIN_SECONDS = 180;

describe.each(definitions)('$file', ({ states }) => {
  const tasks = Object.entries(states).filter(([, state]) => state.Type === 'Task');

  test('every Task ends any error it does not retry in a named failure state', () => {
    // A Pass state may stand between the Catch and the Fail (to word the cause), nothing else.
    const endOf = (stateName: string | undefined, hops = 0): string | undefined => {
      const state = stateName === undefined ? undefined : states[stateName];
      return state?.Type === 'Pass' && hops < 3 ? endOf(state.Next, hops + 1) : state?.Type;
    };
    for (const [name, state] of tasks) {
      const catchAll = state.Catch?.find((catcher) => catcher.ErrorEquals.includes('States.ALL'));
      expect({ name, next: endOf(catchAll?.Next) }).toEqual({ name, next: 'Fail' });
    }
  });

  test('creating calls are repeated only when the vendor or Lambda certainly did not act', () => {
    for (const [name, state] of tasks.filter(([taskName]) => CREATING_TASKS.includes(taskName))) {
      const retried = (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);
      expect({ name, unsafe: retried.filter((error) => !SAFE_TO_REPEAT_FOR_CREATING.has(error)) }).toEqual({ name, unsafe: [] });
    }
  });

  test('a refused download link is never retried', () => {
    for (const [name, state] of tasks) {
      expect({ name, retrier: retrierFor(state, 'DownloadUrlRefused') }).toEqual({ name, retrier: undefined });
    }
  });

  test('errors that retrying cannot mend are never retried: inconsistent pagination, a request whose outcome is unknown', () => {
    for (const [name, state] of tasks) {
      const retried = (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);
      const permanent = ['InconsistentPagination', 'RequestOutcomeUnknown', 'States.ALL', 'States.TaskFailed'].filter((error) => retried.includes(error));
      expect({ name, permanent }).toEqual({ name, permanent: [] });
    }
  });

  test('every poll loop waits by the backoff the functions compute and leaves when its budget is spent', () => {
    const waits = Object.entries(states).filter(([, state]) => state.Type === 'Wait');
    expect(waits.length).toBeGreaterThan(0);
    for (const [name, wait] of waits) {
      expect({ name, path: wait.SecondsPath }).toEqual({ name, path: expect.stringMatching(/^\$\.\w+\.poll\.waitSeconds$/) });
      const loopChoice = Object.values(states).find((state) => state.Type === 'Choice' && state.Choices?.some((choice) => choice.Variable === wait.SecondsPath?.replace('waitSeconds', 'exhausted')));
      expect({ name, bounded: loopChoice !== undefined }).toEqual({ name, bounded: true });
    }
  });
});

const copying = definitions
  .map(({ file, states }) => ({ file, copies: Object.entries(states).filter(([, state]) => state.Type === 'Task' && state.Resource?.includes('CopyToArchive')) }))
  .filter(({ copies }) => copies.length > 0);

describe.each(copying)('$file', ({ copies }) => {
  test('a stalled copy is retried at most once and reported within 3 minutes of the stall', () => {
    for (const [name, state] of copies) {
      // Prepare: each attempt notices the stall at most one watchdog tick after the idle timeout.
      const { retries, longestWaitSeconds } = retryBudget(retrierFor(state, 'DownloadStalled'));
      const perAttemptSeconds = (DOWNLOAD_IDLE_TIMEOUT_MS + IDLE_CHECK_EVERY_MS) / 1000;

      // Act
      const totalSeconds = (retries + 1) * perAttemptSeconds + longestWaitSeconds;

      // Assess
      expect({ name, retries, atMostOnce: retries <= 1 }).toEqual({ name, retries, atMostOnce: true });
      expect({ name, totalSeconds, within: totalSeconds < STALL_REPORTED_WITHIN_SECONDS }).toEqual({ name, totalSeconds, within: true });
    }
  });
});

describe.each(copying)('$file', ({ copies }) => {
  test('the copy retries a stall exactly once, under its own retrier', () => {
    for (const [name, state] of copies) {
      // Act
      const retrier = retrierFor(state, 'DownloadStalled');

      // Assess
      expect({ name, retrier }).toMatchObject({ name, retrier: { ErrorEquals: ['DownloadStalled'], MaxAttempts: 1 } });
    }
  });
});
