// `offsite backup --all [--kind K] [--concurrency N] [--remote]`: the scheduled fan-out
// (state-machines/fan-out.asl.json) over the configured targets, one fan-out per kind with a
// backup, side by side, each at its kind's fleet.maxConcurrency: run in this process, or
// (--remote) the deployed fan-out machines started and followed, with the same lines.
import { lifecycleFor, LIFECYCLES, type LifecycleSpec } from '../../functions/catalog';
import type { OffsiteConfig } from '../../functions/config/schema';
import { MAX_CONCURRENCY_LIMIT } from '../../functions/config/fleet';
import { describeTargetFailure, type FleetSummary } from '../../functions/fleet/fan-out';
import { FAN_OUT_DEFINITION_FILE, LIFECYCLE_STATE_MACHINE_PLACEHOLDER } from '../../functions/fleet/jobs';
import { TARGET_KINDS, type TargetKind } from '../../functions/kinds/registry';
import { InvalidInput } from '../../functions/shared/errors';
import { runLifecycle, type JsonValue, type LifecycleEvent, type LifecycleOutcome } from '../local/local-runner';
import type { CliIo, CommandResult } from './commands';
import { plainCause } from './format';

/**
 * Runs one kind's fan-out and tells its states as they are entered: in this process
 * (LOCAL_FAN_OUT), or the deployed fan-out state machine followed through its history
 * (bin/remote/remote-runner.ts remoteFanOutRunner, `--all --remote`).
 */
export type FanOutRunner = (
  lifecycle: LifecycleSpec,
  input: JsonValue,
  onEvent: (event: LifecycleEvent) => void,
  overrides: Pick<BackupAllOptions, 'waitOverridesMs' | 'retryOverridesMs'>,
) => Promise<LifecycleOutcome>;

export const LOCAL_FAN_OUT: FanOutRunner = (lifecycle, input, onEvent, overrides) =>
  runLifecycle({
    lifecycle: { definitionFile: FAN_OUT_DEFINITION_FILE },
    childLifecycles: { [LIFECYCLE_STATE_MACHINE_PLACEHOLDER]: lifecycle },
    input,
    onEvent,
    ...(overrides.waitOverridesMs ? { waitOverridesMs: overrides.waitOverridesMs } : {}),
    ...(overrides.retryOverridesMs ? { retryOverridesMs: overrides.retryOverridesMs } : {}),
  });

export interface BackupAllOptions {
  readonly kind?: string | undefined;
  readonly concurrency?: number | undefined;
  /** Milliseconds per Wait state name (tests and the bench shorten the vendors' polls). */
  readonly waitOverridesMs?: Readonly<Record<string, number>>;
  readonly retryOverridesMs?: Readonly<Record<string, number>>;
  /** Where the fan-outs run; LOCAL_FAN_OUT when absent. */
  readonly fanOut?: FanOutRunner;
}

export interface TargetRow {
  readonly target: string;
  readonly kind: TargetKind;
  readonly result: 'ok' | 'FAILED';
  readonly error?: string;
  readonly seconds?: number;
}

interface IterationInput {
  readonly target?: string;
  readonly failure?: { readonly Error?: string; readonly Cause?: string };
}

function backupLifecycles(config: OffsiteConfig, kind: string | undefined): LifecycleSpec[] {
  if (kind !== undefined && !(TARGET_KINDS as string[]).includes(kind)) throw new InvalidInput(`--kind: expected one of ${TARGET_KINDS.join(', ')} (got "${kind}")`);
  const kinds = kind === undefined ? [...new Set(config.targets.map((target) => target.kind))] : [kind as TargetKind];
  const withBackup = kinds.filter((candidate) => LIFECYCLES.some((spec) => spec.kind === candidate && spec.purpose === 'backup'));
  if (kind !== undefined && withBackup.length === 0) throw new InvalidInput(`${kind} targets have no backup lifecycle (they are audited: offsite audit <target>).`);
  const chosen = withBackup.filter((candidate) => config.targets.some((target) => target.kind === candidate));
  if (chosen.length === 0) throw new InvalidInput(kind === undefined ? 'No configured target has a backup lifecycle.' : `No ${kind} targets are configured.`);
  return chosen.map((candidate) => lifecycleFor(candidate, 'backup'));
}

export async function backupAllCommand(config: OffsiteConfig, io: CliIo, options: BackupAllOptions = {}): Promise<CommandResult & { rows: TargetRow[] }> {
  const { concurrency } = options;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY_LIMIT)) {
    throw new InvalidInput(`--concurrency: expected a whole number from 1 to ${MAX_CONCURRENCY_LIMIT} (got ${String(concurrency)})`);
  }
  const lifecycles = backupLifecycles(config, options.kind);
  const skipped = config.targets.filter((target) => (options.kind === undefined || target.kind === options.kind) && !lifecycles.some((spec) => spec.kind === target.kind));
  for (const target of skipped) io.err(`skipping ${target.name} (${target.kind}): that kind has no backup; it is audited (offsite audit ${target.name})`);

  const started = new Map<string, number>();
  const rows: TargetRow[] = [];
  const runOne = async (lifecycle: LifecycleSpec): Promise<{ lifecycle: LifecycleSpec; outcome: LifecycleOutcome }> => {
    const onEvent = (event: LifecycleEvent): void => {
      if (event.type !== 'state-entered') return;
      const input = (event.input ?? {}) as IterationInput;
      const target = input.target;
      if (target === undefined) return;
      const seconds = (): number => Math.round((Date.now() - (started.get(target) ?? Date.now())) / 100) / 10;
      if (event.state === 'RunTargetLifecycle') {
        started.set(target, Date.now());
        io.err(`→ ${target} (${lifecycle.kind}) started`);
      } else if (event.state === 'TargetSucceeded') {
        rows.push({ target, kind: lifecycle.kind, result: 'ok', seconds: seconds() });
        io.err(`✔ ${target} backed up (${seconds()} s)`);
      } else if (event.state === 'RecordTargetFailure') {
        const failure = describeTargetFailure(target, input.failure ?? {});
        rows.push({ target, kind: lifecycle.kind, result: 'FAILED', error: failure.error ?? 'unknown', seconds: seconds() });
        io.err(`✘ ${target} failed: ${failure.error ?? 'unknown'} (${seconds()} s)`);
      }
    };
    const input: JsonValue = { lifecycle: lifecycle.id, ...(concurrency !== undefined ? { maxConcurrency: concurrency } : {}) };
    const outcome = await (options.fanOut ?? LOCAL_FAN_OUT)(lifecycle, input, onEvent, options);
    return { lifecycle, outcome };
  };
  const results = await Promise.all(lifecycles.map(runOne));

  let allSucceeded = rows.every((row) => row.result === 'ok');
  for (const { lifecycle, outcome } of results) {
    if (!outcome.succeeded) {
      allSucceeded = false;
      io.err(`The ${lifecycle.kind} fan-out failed: ${outcome.error ?? 'unknown error'}${plainCause(outcome.cause) ? ` — ${plainCause(outcome.cause)}` : ''}`);
      continue;
    }
    const summary = outcome.output as FleetSummary;
    if (summary.succeeded.length + summary.failed.length !== summary.total) allSucceeded = false;
  }

  const order = new Map(config.targets.map((target, index) => [target.name, index]));
  rows.sort((a, b) => (order.get(a.target) ?? 0) - (order.get(b.target) ?? 0));
  const width = Math.max(6, ...rows.map((row) => row.target.length));
  io.out(['TARGET'.padEnd(width), 'KIND'.padEnd(14), 'RESULT'.padEnd(6), 'SECONDS'.padStart(8), 'ERROR'].join('  '));
  for (const row of rows) {
    io.out([row.target.padEnd(width), row.kind.padEnd(14), row.result.padEnd(6), String(row.seconds ?? '-').padStart(8), row.error ?? ''].join('  ').trimEnd());
  }
  const failed = rows.filter((row) => row.result !== 'ok').length;
  io.out(`${rows.length - failed} of ${rows.length} target(s) backed up${failed > 0 ? `, ${failed} failed` : ''}`);
  return { exitCode: allSucceeded ? 0 : 1, rows };
}
