// offsite drill <target>: one restore drill run locally — the same drill ASL as in AWS,
// with the kind's restore state machine run in-process as its child execution — or, with
// --remote, the deployed drill machine started and followed.
import { lifecycleFor } from '../../functions/catalog';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { drillLifecycleFor, RESTORE_STATE_MACHINE_PLACEHOLDER } from '../../functions/drill/jobs';
import { drillRulesFor } from '../../functions/drill/plan';
import type { DrillReport } from '../../functions/drill/report';
import { DrillRefused, InvalidInput } from '../../functions/shared/errors';
import { runLifecycle, type LifecycleOutcome } from '../local/local-runner';
import type { CliIo, CommandResult } from './commands';
import { plainCause } from './format';
import { LOCAL_RUNNER, type LifecycleRunner } from './lifecycle-runner';
import { stateReporter } from './progress';

const EXIT_USAGE = 2;

export interface DrillCommandOptions {
  readonly json?: boolean;
  /** Tests shorten the poll waits; the CLI waits for real. */
  readonly waitOverridesMs?: Readonly<Record<string, number>>;
  readonly retryOverridesMs?: Readonly<Record<string, number>>;
}

/** Runs the drill lifecycle of a target locally (the CLI and the tests). */
export async function runDrillLifecycle(config: OffsiteConfig, targetName: string, options: DrillCommandOptions & { onEvent?: Parameters<typeof runLifecycle>[0]['onEvent'] } = {}): Promise<LifecycleOutcome> {
  const target = findTarget(config, targetName);
  const spec = drillLifecycleFor(target.kind);
  if (!spec) throw new InvalidInput(`drill is not available for ${target.kind} targets (${target.name}).`);
  return runLifecycle({
    lifecycle: spec,
    childLifecycles: { [RESTORE_STATE_MACHINE_PLACEHOLDER]: lifecycleFor(target.kind, 'restore') },
    input: { target: target.name },
    ...(options.waitOverridesMs ? { waitOverridesMs: options.waitOverridesMs } : {}),
    ...(options.retryOverridesMs ? { retryOverridesMs: options.retryOverridesMs } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}

/** The report the drill wrote, from the execution's end (its output, or what its Fail state held). */
export function drillReportOf(outcome: LifecycleOutcome): DrillReport | undefined {
  const state = (outcome.succeeded ? outcome.output : outcome.failedWith) as { report?: { report?: DrillReport } } | undefined;
  return state?.report?.report;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The local runner runs the drill with its child restore in-process; a remote one starts the stack's drill machine, which starts the child itself. */
function runDrill(config: OffsiteConfig, targetName: string, options: DrillCommandOptions, runner: LifecycleRunner, onEvent: NonNullable<Parameters<typeof runLifecycle>[0]['onEvent']>): Promise<LifecycleOutcome> {
  if (runner.where === 'local') return runDrillLifecycle(config, targetName, { ...options, onEvent });
  const target = findTarget(config, targetName);
  const spec = drillLifecycleFor(target.kind);
  if (!spec) throw new InvalidInput(`drill is not available for ${target.kind} targets (${target.name}).`);
  return runner.run({ lifecycle: spec, input: { target: target.name }, targetName: target.name, onEvent });
}

export async function drillCommand(
  config: OffsiteConfig,
  targetName: string,
  io: CliIo,
  options: DrillCommandOptions = {},
  runner: LifecycleRunner = LOCAL_RUNNER,
): Promise<CommandResult & { report?: DrillReport }> {
  const target = findTarget(config, targetName);
  let destination: string;
  try {
    ({ destination } = drillRulesFor(config, target));
  } catch (error) {
    // No drill, a kind without drills, or a destination that is the target itself: bad configuration, nothing called.
    if (error instanceof DrillRefused || error instanceof InvalidInput) {
      io.err(error.message);
      return { exitCode: EXIT_USAGE };
    }
    throw error;
  }
  io.err(`Drilling ${target.name}: restoring its newest verified copy onto ${destination} (never ${target.name} itself), then checking it`);
  const outcome = await runDrill(config, targetName, options, runner, stateReporter(io.err));
  if (outcome.error === 'DrillRefused') {
    io.err(plainCause(((outcome.failedWith as { error?: { Cause?: string } } | undefined)?.error?.Cause) ?? outcome.cause));
    return { exitCode: EXIT_USAGE };
  }
  const report = drillReportOf(outcome);
  if (!report) {
    const error = (outcome.failedWith as { error?: { Error?: string; Cause?: string } } | undefined)?.error;
    io.err(`Drill of ${target.name} failed: ${error?.Error ?? outcome.error ?? 'unknown error'}`);
    const cause = plainCause(error?.Cause ?? outcome.cause);
    if (cause) io.err(`  ${cause}`);
    return { exitCode: 1 };
  }
  const passed = outcome.succeeded && report.outcome === 'passed';
  if (options.json) {
    io.out(JSON.stringify(report));
  } else {
    io.out(`drill ${passed ? 'passed' : 'FAILED'}: ${target.name} → ${report.destination}`);
    io.out(`  copy      ${report.copy.objectKey ?? `provider backup ${report.copy.sourceBackupId}`} (backup ${report.copy.sourceBackupId}, made ${report.copy.createdAt})`);
    io.out(`  restore   ${report.restore.succeeded ? 'completed' : `failed: ${report.restore.error ?? '?'}`} in ${seconds(report.phases.restore.durationMs)}`);
    if (report.phases.checks) io.out(`  checks    ${seconds(report.phases.checks.durationMs)}`);
    for (const check of report.checks) io.out(`    ${check.passed ? '✔' : '✘'} ${check.name}: ${check.message}`);
    io.out(`  report    ${outcome.succeeded ? ((outcome.output as { report?: { key?: string } }).report?.key ?? '?') : ((outcome.failedWith as { report?: { key?: string } }).report?.key ?? '?')}`);
  }
  if (!passed) io.err(`Drill of ${target.name} failed: ${report.summary}`);
  return { exitCode: passed ? 0 : 1, report };
}
