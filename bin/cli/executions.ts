// `offsite executions <target> [--limit N] [--json] [--follow <execution>]`: the recent
// executions of the target's lifecycles in the deployed stack, newest first; or follow one.
import type { ExecutionListItem } from '@aws-sdk/client-sfn';
import { LIFECYCLES } from '../../functions/catalog';
import { drillLifecycleFor } from '../../functions/drill/jobs';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { InvalidInput } from '../../functions/shared/errors';
import { followExecution, remoteTarget, type RemoteOptions, type RemoteRunnerOptions, EXIT_INTERRUPTED } from '../remote/remote-runner';
import {
  describeExecution,
  executionArnFor,
  lastEnteredState,
  listExecutions,
  remoteClients,
  RemoteError,
  stackOutputs,
  stateMachineArnFrom,
  targetOfExecutionName,
  type RemoteClients,
} from '../remote/sfn';
import type { CliIo, CommandResult } from './commands';
import { plainCause } from './format';
import { stateReporter } from './progress';

export interface ExecutionRow {
  readonly name: string;
  readonly executionArn: string;
  readonly lifecycle: string;
  readonly status: string;
  readonly startDate: string;
  readonly stopDate: string | null;
  readonly durationSeconds: number | null;
  readonly failedState?: string;
  readonly error?: string;
  readonly cause?: string;
}

export interface ExecutionsOptions extends RemoteOptions {
  readonly limit?: number;
  readonly json?: boolean;
  readonly follow?: string;
  readonly clients?: RemoteClients;
  readonly now?: Date;
  readonly interrupts?: RemoteRunnerOptions['interrupts'];
  readonly choose?: RemoteRunnerOptions['choose'];
}

/** Executions started by `--remote` carry the target in their name; others (schedules, console starts) are read for their input's target. */
const MAX_INPUTS_READ = 50;

function duration(start: Date | undefined, stop: Date | undefined, now: Date): number | null {
  if (!start) return null;
  return Math.round(((stop ?? now).getTime() - start.getTime()) / 1000);
}

function humanDuration(secondsTotal: number | null): string {
  if (secondsTotal === null) return '-';
  const h = Math.floor(secondsTotal / 3600);
  const m = Math.floor((secondsTotal % 3600) / 60);
  const s = secondsTotal % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

export async function executionsCommand(config: OffsiteConfig, targetName: string, io: CliIo, options: ExecutionsOptions = {}): Promise<CommandResult & { executions?: ExecutionRow[] }> {
  const target = findTarget(config, targetName);
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidInput(`--limit: expected a whole number from 1 to 1000 (got ${String(options.limit)})`);
  const where = remoteTarget(config, options);
  const clients = options.clients ?? remoteClients(where);
  const now = options.now ?? new Date();
  try {
    const outputs = await stackOutputs(clients, where.stackName);
    // The drill machine only where the target has a drill: the stack deploys one only for drilled kinds.
    const drill = (target as { drill?: unknown }).drill !== undefined ? drillLifecycleFor(target.kind) : undefined;
    const lifecycles = [...LIFECYCLES.filter((lifecycle) => lifecycle.kind === target.kind), ...(drill ? [drill] : [])].map((lifecycle) => ({
      lifecycle,
      arn: stateMachineArnFrom(outputs, lifecycle.id, where.stackName),
    }));
    if (options.follow !== undefined) return await follow(clients, io, lifecycles.map((entry) => entry.arn), options.follow, targetName, options);

    let inputsRead = 0;
    const belongs = async (item: ExecutionListItem): Promise<boolean> => {
      const named = targetOfExecutionName(item.name ?? '');
      if (named !== undefined) return named === target.name;
      // Scheduled runs get names from EventBridge Scheduler: their input names the target.
      if (inputsRead >= MAX_INPUTS_READ || !item.executionArn) return false;
      inputsRead += 1;
      const described = await describeExecution(clients, item.executionArn);
      try {
        return (JSON.parse(described.input ?? '{}') as { target?: unknown }).target === target.name;
      } catch {
        return false;
      }
    };
    const rows: ExecutionRow[] = [];
    let truncated = false;
    for (const { lifecycle, arn } of lifecycles) {
      const listed = await listExecutions(clients, arn, { want: limit, keep: belongs });
      truncated ||= listed.truncated;
      for (const item of listed.executions) {
        rows.push({
          name: item.name ?? '',
          executionArn: item.executionArn ?? '',
          lifecycle: lifecycle.purpose,
          status: item.status ?? 'UNKNOWN',
          startDate: item.startDate?.toISOString() ?? '',
          stopDate: item.stopDate?.toISOString() ?? null,
          durationSeconds: duration(item.startDate, item.stopDate, now),
        });
      }
    }
    rows.sort((a, b) => b.startDate.localeCompare(a.startDate));
    const shown = rows.slice(0, limit);
    const detailed = await Promise.all(
      shown.map(async (row): Promise<ExecutionRow> => {
        if (row.status !== 'FAILED' && row.status !== 'TIMED_OUT' && row.status !== 'ABORTED') return row;
        const described = await describeExecution(clients, row.executionArn);
        const failedState = row.status === 'FAILED' ? await lastEnteredState(clients, row.executionArn) : undefined;
        return {
          ...row,
          ...(failedState ? { failedState } : {}),
          ...(described.error ? { error: described.error } : {}),
          ...(described.cause ? { cause: plainCause(described.cause) } : {}),
        };
      }),
    );
    if (options.json) {
      io.out(JSON.stringify({ target: target.name, stack: where.stackName, region: where.region, executions: detailed, ...(truncated ? { truncated: true } : {}) }));
      return { exitCode: 0, executions: detailed };
    }
    if (detailed.length === 0) io.out(`No executions of ${target.name} in stack ${where.stackName} (${where.region}).`);
    else {
      io.out(['STARTED (UTC)'.padEnd(24), 'LIFECYCLE'.padEnd(9), 'STATUS'.padEnd(10), 'DURATION'.padEnd(9), 'NAME'].join('  '));
      for (const row of detailed) {
        io.out([row.startDate.padEnd(24), row.lifecycle.padEnd(9), row.status.padEnd(10), humanDuration(row.durationSeconds).padEnd(9), row.name].join('  '));
        if (row.error || row.failedState) io.out(`    ${row.failedState ? `in ${row.failedState}: ` : ''}${row.error ?? ''}${row.cause ? ` — ${row.cause}` : ''}`);
      }
    }
    if (truncated) io.err(`note: only the newest executions were searched; older ones of ${target.name} may exist (the console lists them all).`);
    if (inputsRead >= MAX_INPUTS_READ) io.err(`note: ${MAX_INPUTS_READ} executions without offsite's names were read for their target; others may belong to ${target.name} too.`);
    return { exitCode: 0, executions: detailed };
  } catch (error) {
    if (error instanceof RemoteError) {
      io.err(error.message);
      return { exitCode: 1 };
    }
    throw error;
  }
}

/** `--follow <name|ARN>`: attach to an execution of the target's state machines and exit with its outcome. */
async function follow(clients: RemoteClients, io: CliIo, stateMachineArns: readonly string[], execution: string, targetName: string, options: ExecutionsOptions): Promise<CommandResult> {
  const candidates = execution.startsWith('arn:') ? [execution] : stateMachineArns.map((arn) => executionArnFor(arn, execution));
  let executionArn: string | undefined;
  for (const candidate of candidates) {
    try {
      await describeExecution(clients, candidate);
      executionArn = candidate;
      break;
    } catch (error) {
      if (!(error instanceof RemoteError) || !error.message.includes('ExecutionDoesNotExist')) throw error;
    }
  }
  if (!executionArn) throw new InvalidInput(`No execution ${execution} of ${targetName}'s state machines; \`offsite executions ${targetName}\` lists them.`);
  io.err(`Following ${executionArn}`);
  const result = await followExecution(
    { clients, io, ...(options.interrupts ? { interrupts: options.interrupts } : {}), ...(options.choose ? { choose: options.choose } : {}) },
    executionArn,
    stateReporter(io.err),
    `npm run offsite -- executions ${targetName} --follow ${execution}`,
  );
  if (result.kind === 'left-running') return { exitCode: EXIT_INTERRUPTED };
  const { outcome } = result;
  if (outcome.succeeded) {
    io.out(`${execution} succeeded`);
    return { exitCode: 0 };
  }
  io.err(`${execution} ${outcome.status === 'TIMED_OUT' ? 'timed out' : outcome.status === 'ABORTED' ? 'was stopped' : 'failed'}: ${outcome.error ?? 'unknown error'}`);
  const cause = plainCause(outcome.cause);
  if (cause) io.err(`  ${cause}`);
  return { exitCode: 1 };
}
