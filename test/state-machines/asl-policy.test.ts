import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DOWNLOAD_IDLE_TIMEOUT_MS, IDLE_CHECK_EVERY_MS } from '../../functions/archive/copier';
import { FUNCTIONS, LIFECYCLES, functionArnPlaceholder, type FunctionSpec, type TargetKind } from '../../functions/catalog';
import { KINDS } from '../../functions/kinds/registry';
import * as errorModule from '../../functions/shared/errors';
import { LIFECYCLE_OUTCOMES } from '../../functions/shared/outcomes';
import { REPO_ROOT } from '../../bin/local/repo-root';

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
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
  Error?: string;
  ErrorPath?: string;
  ItemProcessor?: { States: States };
  Iterator?: { States: States };
  Branches?: { States: States }[];
}

type States = Record<string, State>;

const definitions = LIFECYCLES.map((lifecycle) => ({
  file: lifecycle.definitionFile,
  kind: lifecycle.kind,
  purpose: lifecycle.purpose,
  states: (JSON.parse(readFileSync(join(REPO_ROOT, lifecycle.definitionFile), 'utf8')) as { States: States }).States,
}));

/** Every state with its path ("DeleteOldBackups/DeleteBackup"), Map item processors and Parallel branches included. */
function allStates(states: States, prefix = ''): [string, State][] {
  return Object.entries(states).flatMap(([name, state]): [string, State][] => {
    const path = `${prefix}${name}`;
    const inner = [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].filter((machine) => machine !== undefined);
    return [[path, state], ...inner.flatMap((machine) => allStates(machine.States, `${path}/`))];
  });
}

function allTasks(states: States): [string, State][] {
  return allStates(states).filter(([, state]) => state.Type === 'Task');
}

// --- Error names: what the ASL may catch, retry and fail with ------------------------------

type ErrorClass = new (message: string) => Error;

/** The error classes a module exports, by export name. */
function errorClassesOf(module: Record<string, unknown>): [string, ErrorClass][] {
  return Object.entries(module).filter((entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && (entry[1] as { prototype?: unknown }).prototype instanceof Error);
}

/** Export names whose class reports another `name`: the ASL matches on `name`, so the two must be one. */
function misnamedErrorClasses(module: Record<string, unknown>): string[] {
  return errorClassesOf(module)
    .filter(([exported, ErrorType]) => new ErrorType('').name !== exported)
    .map(([exported, ErrorType]) => `${exported} is named ${new ErrorType('').name}`);
}

/** The `name`s of a module's error classes. */
function errorNamesOf(module: Record<string, unknown>): Set<string> {
  return new Set(errorClassesOf(module).map(([, ErrorType]) => new ErrorType('').name));
}

const ERROR_CLASS_NAMES = errorNamesOf(errorModule);

/**
 * What a kind's ASL may name: the shared error classes and outcomes, plus the kind's own
 * (its definition's `errors` and `outcomes`) — never another kind's.
 */
interface NamesAllowed {
  readonly errors: ReadonlySet<string>;
  readonly outcomes: Readonly<Record<string, string>>;
}

function namesAllowedFor(kind: TargetKind): NamesAllowed {
  const definition: { errors?: Record<string, unknown>; outcomes?: Record<string, string> } = KINDS[kind];
  return {
    errors: new Set([...ERROR_CLASS_NAMES, ...errorNamesOf(definition.errors ?? {})]),
    outcomes: { ...LIFECYCLE_OUTCOMES, ...definition.outcomes },
  };
}

// What Step Functions and Lambda report themselves (Step Functions' "Error names", Lambda's
// invoke errors; Sandbox.Timedout is a function that ran out of time). Named one by one
// rather than by prefix, so that a misspelt built-in fails too.
const BUILT_IN_ERRORS = new Set([
  'States.ALL',
  'States.BranchFailed',
  'States.DataLimitExceeded',
  'States.ExceedToleratedFailureThreshold',
  'States.HeartbeatTimeout',
  'States.Http.Socket',
  'States.IntrinsicFailure',
  'States.ItemReaderFailed',
  'States.NoChoiceMatched',
  'States.ParameterPathFailure',
  'States.Permissions',
  'States.QueryEvaluationError',
  'States.ResultPathMatchFailure',
  'States.ResultWriterFailed',
  'States.Runtime',
  'States.TaskFailed',
  'States.Timeout',
  'Lambda.AWSLambdaException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.SdkClientException',
  'Lambda.ServiceException',
  'Lambda.TooManyRequestsException',
  'Lambda.Unknown',
  'Sandbox.Timedout',
]);

/** Every ErrorEquals name, in every Retry and Catch, that is neither an error class the lifecycle's kind may name nor a built-in. */
function unknownErrorEquals(states: States, allowed: NamesAllowed): string[] {
  return allStates(states).flatMap(([path, state]) => [
    ...(state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals.map((name) => ({ path, field: 'Retry', name }))),
    ...(state.Catch ?? []).flatMap((catcher) => catcher.ErrorEquals.map((name) => ({ path, field: 'Catch', name }))),
  ])
    .filter(({ name }) => !allowed.errors.has(name) && !BUILT_IN_ERRORS.has(name))
    .map(({ path, field, name }) => `${path} ${field}: ${name}`);
}

/** Fail states whose Error is neither an error class nor an outcome the lifecycle's kind may name, or that give no Error at all. */
function unknownFailErrors(states: States, allowed: NamesAllowed): string[] {
  return allStates(states)
    .filter(([, state]) => state.Type === 'Fail')
    .filter(([, state]) => (state.Error === undefined ? state.ErrorPath === undefined : !allowed.errors.has(state.Error) && !Object.hasOwn(allowed.outcomes, state.Error)))
    .map(([path, state]) => `${path}: ${state.Error ?? '(no Error)'}`);
}

/** Lifecycle outcomes no Fail state of these definitions uses: a list that says more than the state machines do. */
function unusedOutcomes(outcomes: Record<string, string>, machines: readonly { states: States }[]): string[] {
  const used = new Set(machines.flatMap(({ states }) => allStates(states).map(([, state]) => (state.Type === 'Fail' ? state.Error : undefined))));
  return Object.keys(outcomes).filter((name) => !used.has(name));
}

// --- Which function a Task calls, and what it may therefore be retried on -----------------------

/** The catalog function a Task calls: its Resource is that function's `${<id>FunctionArn}`. */
function functionOf(state: State): FunctionSpec | undefined {
  return FUNCTIONS.find((spec) => state.Resource === `\${${functionArnPlaceholder(spec.id)}}`);
}

/** Tasks that call no catalog function, or one of another kind than the lifecycle's (the archive's own jobs have no kind and may be called by any). */
function foreignTasks(states: States, kind: TargetKind): string[] {
  return allTasks(states)
    .map(([path, state]) => ({ path, state, called: functionOf(state) }))
    .filter(({ called }) => called === undefined || (called.kind !== undefined && called.kind !== kind))
    .map(({ path, state, called }) => `${path}: ${state.Resource ?? '(no Resource)'}${called ? ` (a ${called.kind} function)` : ''}`);
}

// A call that creates something at the vendor (catalog `creates: true`) is repeated only on
// an error that proves nothing was created: a second backup or restore must not be started.
const SAFE_TO_REPEAT_FOR_CREATING = new Set(['RateLimited', 'Lambda.TooManyRequestsException']);

function isCreating(state: State): boolean {
  return functionOf(state)?.creates === true;
}

/** Errors a creating Task is retried on that do not prove the vendor did not act. */
function unsafeCreatingRetries(states: States): string[] {
  return allTasks(states)
    .filter(([, state]) => isCreating(state))
    .flatMap(([path, state]) => (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals).map((error) => ({ path, error })))
    .filter(({ error }) => !SAFE_TO_REPEAT_FOR_CREATING.has(error))
    .map(({ path, error }) => `${path}: ${error}`);
}

// The Lambda service's own failures are retried the same way on every Task. A creating call
// keeps only the throttle: a ServiceException may come after the function ran.
const LAMBDA_RETRIER: Retrier = {
  ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
  MaxDelaySeconds: 60,
  JitterStrategy: 'FULL',
};
const CREATING_LAMBDA_RETRIER: Retrier = { ...LAMBDA_RETRIER, ErrorEquals: ['Lambda.TooManyRequestsException'] };

/** Tasks whose retriers of Lambda.* errors are not exactly the one retrier their kind of call gets. */
function lambdaRetrierMismatches(states: States): { task: string; lambdaRetriers: Retrier[] }[] {
  return allTasks(states)
    .map(([path, state]) => ({
      task: path,
      expected: [isCreating(state) ? CREATING_LAMBDA_RETRIER : LAMBDA_RETRIER],
      lambdaRetriers: (state.Retry ?? []).filter((retrier) => retrier.ErrorEquals.some((error) => error.startsWith('Lambda.'))),
    }))
    .filter(({ expected, lambdaRetriers }) => !isDeepStrictEqual(lambdaRetriers, expected))
    .map(({ task, lambdaRetriers }) => ({ task, lambdaRetriers }));
}

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

describe.each(definitions)('$file', ({ states, kind, purpose }) => {
  const allowed = namesAllowedFor(kind);
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

  test("every ErrorEquals, in every Retry and Catch, names a shared error class, one of the kind's own, or a Step Functions or Lambda built-in", () => {
    expect(unknownErrorEquals(states, allowed)).toEqual([]);
  });

  test("every Fail state fails with a shared error class or outcome, or one of the kind's own", () => {
    expect(unknownFailErrors(states, allowed)).toEqual([]);
  });

  test("every Task calls a catalog function of the lifecycle's kind", () => {
    expect(foreignTasks(states, kind)).toEqual([]);
  });

  test('creating calls (catalog creates: true) are repeated only when the vendor or Lambda certainly did not act', () => {
    // An audit only reads: it has no creating call to check (the checks below still run over every Task).
    if (purpose !== 'audit') expect(allTasks(states).filter(([, state]) => isCreating(state)).length).toBeGreaterThan(0);
    else expect(allTasks(states).filter(([, state]) => isCreating(state))).toEqual([]);
    expect(unsafeCreatingRetries(states)).toEqual([]);
  });

  test('every Task retries the Lambda service the same way; a creating call only its throttle', () => {
    expect(lambdaRetrierMismatches(states)).toEqual([]);
  });

  test('a refused download link is never retried', () => {
    for (const [name, state] of allTasks(states)) {
      expect({ name, retrier: retrierFor(state, 'DownloadUrlRefused') }).toEqual({ name, retrier: undefined });
    }
  });

  test('errors that retrying cannot mend are never retried: inconsistent pagination, a request whose outcome is unknown', () => {
    for (const [name, state] of allTasks(states)) {
      const retried = (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);
      const permanent = ['InconsistentPagination', 'RequestOutcomeUnknown', 'States.ALL', 'States.TaskFailed'].filter((error) => retried.includes(error));
      expect({ name, permanent }).toEqual({ name, permanent: [] });
    }
  });

  test('every poll loop waits by the backoff the functions compute and leaves when its budget is spent', () => {
    const waits = Object.entries(states).filter(([, state]) => state.Type === 'Wait');
    // An audit reads lists and waits for nothing at the vendor.
    if (purpose !== 'audit') expect(waits.length).toBeGreaterThan(0);
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

describe('error names', () => {
  test('every exported error class is named as it is exported', () => {
    expect(misnamedErrorClasses(errorModule)).toEqual([]);
  });

  test('every lifecycle outcome is the Error of some Fail state, and none is also an error class', () => {
    expect(unusedOutcomes(LIFECYCLE_OUTCOMES, definitions)).toEqual([]);
    expect(Object.keys(LIFECYCLE_OUTCOMES).filter((name) => ERROR_CLASS_NAMES.has(name))).toEqual([]);
  });
});

describe.each(Object.values(KINDS).map((definition) => ({ kind: definition.kind, definition: definition as { errors?: Record<string, unknown>; outcomes?: Record<string, string> } })))(
  "$kind's own error names",
  ({ kind, definition }) => {
    const ownMachines = definitions.filter((machine) => machine.kind === kind);
    const ownErrors = errorNamesOf(definition.errors ?? {});

    test('every error class of the kind is named as it is exported, and none repeats a shared one', () => {
      expect(misnamedErrorClasses(definition.errors ?? {})).toEqual([]);
      expect([...ownErrors].filter((name) => ERROR_CLASS_NAMES.has(name))).toEqual([]);
    });

    test("every outcome of the kind is the Error of one of its own Fail states, and none is also an error class or a shared outcome", () => {
      const outcomes = definition.outcomes ?? {};
      expect(unusedOutcomes(outcomes, ownMachines)).toEqual([]);
      expect(Object.keys(outcomes).filter((name) => ERROR_CLASS_NAMES.has(name) || ownErrors.has(name) || Object.hasOwn(LIFECYCLE_OUTCOMES, name))).toEqual([]);
    });
  },
);

// Each check above, run on a copy broken on purpose: a check that cannot fail checks nothing.
describe('the policy checks catch a broken definition', () => {
  function copyOf(file: string): States {
    const definition = definitions.find((candidate) => candidate.file === file);
    if (!definition) throw new Error(`no lifecycle has ${file}`);
    // Through JSON, not structuredClone: that one makes objects of another realm than the test's, which isDeepStrictEqual tells apart.
    return JSON.parse(JSON.stringify(definition.states)) as States;
  }

  function stateOf(states: States, path: string): State {
    const state = allStates(states).find(([candidate]) => candidate === path)?.[1];
    if (!state) throw new Error(`no state ${path}`);
    return state;
  }

  test('a misspelt error in a Retry inside a Map item processor, and in a Catch', () => {
    // Prepare
    const states = copyOf('state-machines/appliance-backup.asl.json');
    stateOf(states, 'DeleteOldBackups/DeleteBackup').Retry?.[0]?.ErrorEquals.splice(0, 1, 'TransientApiErorr');
    stateOf(states, 'CheckBackup').Catch?.[0]?.ErrorEquals.splice(0, 1, 'States.AL');

    // Act
    const unknown = unknownErrorEquals(states, namesAllowedFor('appliance'));

    // Assess
    expect(unknown).toEqual(['CheckBackup Catch: States.AL', 'DeleteOldBackups/DeleteBackup Retry: TransientApiErorr']);
  });

  test('a Fail state with a misspelt outcome, and one that names no error', () => {
    // Prepare
    const states = copyOf('state-machines/appliance-backup.asl.json');
    stateOf(states, 'BackupTimedOut').Error = 'BackupTimedout';
    delete stateOf(states, 'BackupFailed').ErrorPath;

    // Act
    const unknown = unknownFailErrors(states, namesAllowedFor('appliance'));

    // Assess
    expect(unknown).toEqual(['BackupTimedOut: BackupTimedout', 'BackupFailed: (no Error)']);
  });

  test("another kind's error in a Catch, and another kind's outcome in a Fail state", () => {
    // Prepare
    const states = copyOf('state-machines/appliance-backup.asl.json');
    stateOf(states, 'CheckBackup').Catch?.[0]?.ErrorEquals.splice(0, 1, 'ServerNotFound');
    stateOf(states, 'BackupTimedOut').Error = 'RetrievalTimedOut';

    // Act
    const unknownCaught = unknownErrorEquals(states, namesAllowedFor('appliance'));
    const unknownFailed = unknownFailErrors(states, namesAllowedFor('appliance'));

    // Assess
    expect(unknownCaught).toEqual(['CheckBackup Catch: ServerNotFound']);
    expect(unknownFailed).toEqual(['BackupTimedOut: RetrievalTimedOut']);
  });

  test('an outcome no Fail state uses', () => {
    // Prepare
    const outcomes = { ...LIFECYCLE_OUTCOMES, BackupAbandoned: 'listed but never used' };

    // Act
    const unused = unusedOutcomes(outcomes, definitions);

    // Assess
    expect(unused).toEqual(['BackupAbandoned']);
  });

  test('an error class whose name is not its export name', () => {
    // Prepare
    class CopiedError extends Error {
      override readonly name = 'VendorApiError';
    }

    // Act
    const misnamed = misnamedErrorClasses({ ...errorModule, CopiedError });

    // Assess
    expect(misnamed).toEqual(['CopiedError is named VendorApiError']);
  });

  test('a Task that calls no catalog function, or a function of another kind', () => {
    // Prepare
    const states = copyOf('state-machines/appliance-backup.asl.json');
    stateOf(states, 'CheckBackup').Resource = '${ApplianceCheckBackupsFunctionArn}';
    stateOf(states, 'PlanPrune').Resource = `\${${functionArnPlaceholder('NetboxCloudFindBackup')}}`;

    // Act
    const foreign = foreignTasks(states, 'appliance');

    // Assess
    expect(foreign).toEqual(['CheckBackup: ${ApplianceCheckBackupsFunctionArn}', 'PlanPrune: ${NetboxCloudFindBackupFunctionArn} (a netbox-cloud function)']);
  });

  test('a creating Task is found by the function it calls, whatever the state is named, and a transient retry on it is refused', () => {
    // Prepare
    const states = copyOf('state-machines/appliance-restore.asl.json');
    const upload = stateOf(states, 'UploadBackup');
    upload.Retry?.unshift({ ErrorEquals: ['TransientApiError'], IntervalSeconds: 5, MaxAttempts: 3 });
    const renamed: States = Object.fromEntries(Object.entries(states).map(([name, state]) => [name === 'UploadBackup' ? 'SendArchivedCopy' : name, state]));

    // Act
    const unsafe = unsafeCreatingRetries(renamed);

    // Assess
    expect(unsafe).toEqual(['SendArchivedCopy: TransientApiError']);
  });

  test('a Lambda retrier that differs, a creating Task with the full Lambda retrier, and a Task without one', () => {
    // Prepare
    const states = copyOf('state-machines/appliance-backup.asl.json');
    const checkRetriers = stateOf(states, 'CheckBackup').Retry ?? [];
    checkRetriers.splice(1, 1, { ...LAMBDA_RETRIER, MaxAttempts: 3 });
    const requestRetriers = stateOf(states, 'RequestBackup').Retry ?? [];
    requestRetriers.splice(1, 1, { ...LAMBDA_RETRIER });
    const deleteRetriers = stateOf(states, 'DeleteOldBackups/DeleteBackup').Retry ?? [];
    deleteRetriers.splice(1, 1);

    // Act
    const mismatches = lambdaRetrierMismatches(states).map(({ task }) => task);

    // Assess
    expect(mismatches).toEqual(['RequestBackup', 'CheckBackup', 'DeleteOldBackups/DeleteBackup']);
  });
});
