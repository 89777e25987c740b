// The fan-out's domain: which targets one scheduled group runs (read from the deployed
// configuration, so the list never travels in a schedule's input), how one target's failed
// child execution is reported in a few bytes, and the run's summary.
import type { LifecycleSpec } from '../catalog';
import type { TargetConfig } from '../config/schema';
import { maxConcurrencyFor } from '../config/fleet';
import type { OffsiteConfig } from '../config/schema';
import { InvalidInput } from '../shared/errors';

/** What a fan-out execution is started with: by its schedule, or by hand. */
export interface FleetRequest {
  /** The lifecycle this fan-out's machine starts (its catalog id, e.g. ApplianceBackup). */
  readonly lifecycle: string;
  /** Only the targets with this `schedule` (what the group's schedule passes). */
  readonly schedule?: string | undefined;
  /** Only these targets (a hand-started partial run). */
  readonly targets?: readonly string[] | undefined;
  /** Run at most this many at once instead of the configured number (`backup --all --concurrency`). */
  readonly maxConcurrency?: number | undefined;
}

export interface FleetItem {
  readonly target: string;
  /** The start jitter: how long this target waits before its lifecycle starts. */
  readonly delaySeconds: number;
}

export interface FleetPlan {
  readonly lifecycle: string;
  readonly maxConcurrency: number;
  readonly targets: readonly FleetItem[];
}

/** What a fan-out needs of the lifecycle it runs: a kind's lifecycle, or its restore drill (functions/drill/jobs.ts). */
export type FannedOutLifecycle = Pick<LifecycleSpec, 'id' | 'kind'> & { readonly purpose: LifecycleSpec['purpose'] | 'drill' };

/** The schedule expression that runs a target in this lifecycle's groups: a drill's own `drill.schedule`, else the target's `schedule`. */
function groupScheduleOf(target: TargetConfig, lifecycle: FannedOutLifecycle): string | undefined {
  return lifecycle.purpose === 'drill' ? (target as { drill?: { schedule?: string } }).drill?.schedule : target.schedule;
}

/**
 * Whether a state machine ARN is the given lifecycle's machine: deployed as
 * `<stack prefix>-<kind>-<purpose>` (lib/lifecycle-state-machine.ts), run locally as
 * `offsite-local-<lifecycle id>` (bin/local/local-runner.ts).
 */
export function isLifecycleMachine(arn: string, lifecycle: FannedOutLifecycle): boolean {
  const name = arn.split(':').pop() ?? '';
  return name.endsWith(`-${lifecycle.kind}-${lifecycle.purpose}`) || name === `offsite-local-${lifecycle.id}`;
}

/**
 * The targets one fan-out execution runs, in configuration order. Each item is a name and
 * a delay (under 80 bytes: names are at most 48 characters), so a group of 1,000 targets is
 * under 80 KB of the 256 KB Step Functions allows in an execution's state.
 */
export function planFleetRun(config: OffsiteConfig, lifecycle: FannedOutLifecycle, request: FleetRequest, random: () => number = Math.random): FleetPlan {
  if (request.lifecycle !== lifecycle.id) {
    throw new InvalidInput(`This fan-out runs the ${lifecycle.id} lifecycle; the input names "${request.lifecycle}". Start the ${request.lifecycle} fan-out instead.`);
  }
  // A drill runs only for targets that have one.
  const ofKind = config.targets.filter((target) => target.kind === lifecycle.kind && (lifecycle.purpose !== 'drill' || (target as { drill?: unknown }).drill !== undefined));
  let chosen = request.schedule === undefined ? ofKind : ofKind.filter((target) => groupScheduleOf(target, lifecycle) === request.schedule);
  if (request.targets !== undefined) {
    const wanted = new Set(request.targets);
    const unknown = request.targets.filter((name) => !ofKind.some((target) => target.name === name));
    if (unknown.length > 0) throw new InvalidInput(`Not configured ${lifecycle.kind} targets${lifecycle.purpose === 'drill' ? ' with a drill' : ''}: ${unknown.join(', ')}.`);
    chosen = chosen.filter((target) => wanted.has(target.name));
  }
  const jitter = config.fleet?.startJitterSeconds ?? 0;
  return {
    lifecycle: lifecycle.id,
    maxConcurrency: request.maxConcurrency ?? maxConcurrencyFor(config.fleet, lifecycle.kind),
    targets: chosen.map((target) => ({ target: target.name, delaySeconds: jitter === 0 ? 0 : Math.floor(random() * (jitter + 1)) })),
  };
}

export interface TargetResult {
  readonly target: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** The child execution's error (its Fail state's), else the Task's own (States.Timeout, …). */
  readonly error?: string;
  /** The child execution's name, to find it in the console (absent when it never started). */
  readonly execution?: string;
}

const MAX_ERROR_CHARS = 100;

/**
 * One target's failure in a few bytes: 1,000 failures with their full causes would pass
 * the 256 KB state limit. The Cause of a failed `startExecution.sync:2` Task is the child's
 * DescribeExecution as JSON; the integration's documentation does not promise that shape
 * for every failure (a Task timeout, a start refused), so anything else keeps the Task's Error.
 */
export function describeTargetFailure(target: string, failure: { readonly Error?: string | undefined; readonly Cause?: string | undefined }): TargetResult {
  let error = failure.Error ?? 'States.TaskFailed';
  let execution: string | undefined;
  try {
    const child = JSON.parse(failure.Cause ?? '') as { Error?: unknown; ExecutionArn?: unknown };
    if (typeof child.Error === 'string' && child.Error !== '') error = child.Error;
    if (typeof child.ExecutionArn === 'string') execution = child.ExecutionArn.split(':').pop();
  } catch {
    // Not the child's description: the Task's own Error is all there is.
  }
  return { target, status: 'FAILED', error: error.slice(0, MAX_ERROR_CHARS), ...(execution ? { execution: execution.slice(0, 80) } : {}) };
}

export interface FleetSummary {
  readonly lifecycle: string;
  readonly total: number;
  readonly succeeded: readonly string[];
  readonly failed: readonly { readonly target: string; readonly error: string; readonly execution?: string }[];
}

export function summarizeFleetRun(lifecycle: string, results: readonly TargetResult[]): FleetSummary {
  return {
    lifecycle,
    total: results.length,
    succeeded: results.filter((result) => result.status === 'SUCCEEDED').map((result) => result.target),
    failed: results
      .filter((result) => result.status === 'FAILED')
      .map((result) => ({ target: result.target, error: result.error ?? 'unknown', ...(result.execution ? { execution: result.execution } : {}) })),
  };
}
