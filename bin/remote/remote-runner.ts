// `--remote`: start the deployed stack's state machine for a lifecycle, then follow its
// history through the same reporter as a local run and hand back the same outcome.
import { createInterface } from 'node:readline/promises';
import { DEFAULT_STACK_NAME, type OffsiteConfig } from '../../functions/config/schema';
import type { FanOutRunner } from '../cli/backup-all';
import type { CliIo } from '../cli/commands';
import type { LifecycleRunner } from '../cli/lifecycle-runner';
import type { LifecycleEvent } from '../local/local-runner';
import { HistoryReader, type RemoteOutcome } from './history';
import {
  executionName,
  followHistory,
  remoteClients,
  RemoteError,
  stackOutputs,
  startExecution,
  stateMachineOutputKey,
  stateMachineArnFrom,
  stopExecution,
  type RemoteClients,
} from './sfn';

/** The command-line options of remote mode. */
export interface RemoteOptions {
  readonly remote?: boolean;
  readonly endpoint?: string;
  readonly stack?: string;
  readonly region?: string;
}

export interface RemoteTarget {
  readonly stackName: string;
  readonly region: string;
  readonly endpoint?: string;
}

/** Stack from --stack, else the configuration's stackName, else the name bin/app.ts deploys; region from --region, else archive.region (where bin/app.ts deploys). */
export function remoteTarget(config: OffsiteConfig, options: RemoteOptions): RemoteTarget {
  return {
    stackName: options.stack ?? config.stackName ?? DEFAULT_STACK_NAME,
    region: options.region ?? config.archive.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
}

/** What to do when the operator presses Ctrl-C while following: stop the execution, or leave it running. */
export type InterruptChoice = 'stop' | 'leave';

export interface FollowEnvironment {
  readonly clients: RemoteClients;
  readonly io: CliIo;
  /** Resolves when the operator asks to stop following (Ctrl-C); the default listens for SIGINT. */
  readonly interrupts?: (onInterrupt: () => void) => () => void;
  /** Asked after an interrupt; the default asks on a terminal and never stops without one. */
  readonly choose?: () => Promise<InterruptChoice | undefined>;
  readonly pollInitialMs?: number;
  readonly pollMaxMs?: number;
}

function sigintListener(onInterrupt: () => void): () => void {
  process.on('SIGINT', onInterrupt);
  return () => process.off('SIGINT', onInterrupt);
}

async function askOnTerminal(io: CliIo): Promise<InterruptChoice | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question('Stop the execution in Step Functions too? Type "stop" to stop it, anything else leaves it running: ');
    return answer.trim().toLowerCase() === 'stop' ? 'stop' : 'leave';
  } catch {
    io.err('');
    return 'leave';
  } finally {
    prompt.close();
  }
}

/** The result of following: the execution's outcome, or that following stopped while it runs on. */
export type FollowResult = { readonly kind: 'ended'; readonly outcome: RemoteOutcome } | { readonly kind: 'left-running'; readonly executionArn: string };

/**
 * Follows one execution to its end through `onEvent`. Ctrl-C stops following and asks
 * whether to stop the execution; without a terminal, or unless the answer is "stop", the
 * execution is left running and the operator is told so.
 */
export async function followExecution(
  env: FollowEnvironment,
  executionArn: string,
  onEvent: (event: LifecycleEvent) => void,
  resumeHint: string,
): Promise<FollowResult> {
  const reader = new HistoryReader();
  const detach = new AbortController();
  const unlisten = (env.interrupts ?? sigintListener)(() => detach.abort());
  const feed = (event: Parameters<HistoryReader['push']>[0]): void => {
    for (const lifecycleEvent of reader.push(event)) onEvent(lifecycleEvent);
  };
  const poll = { ...(env.pollInitialMs !== undefined ? { pollInitialMs: env.pollInitialMs } : {}), ...(env.pollMaxMs !== undefined ? { pollMaxMs: env.pollMaxMs } : {}) };
  try {
    const first = await followHistory(env.clients, executionArn, feed, { signal: detach.signal, ...poll });
    if (first === 'ended') return { kind: 'ended', outcome: reader.outcome() };
    env.io.err('Stopped following.');
    const choice = await (env.choose ?? (() => askOnTerminal(env.io)))();
    if (choice !== 'stop') {
      env.io.err(`The execution was left running in Step Functions: ${executionArn}`);
      env.io.err(`  follow it again with: ${resumeHint}`);
      return { kind: 'left-running', executionArn };
    }
    await stopExecution(env.clients, executionArn, 'Stopped from the offsite command line (Ctrl-C, then "stop").');
    env.io.err('Stopping the execution; a job already sent to the vendor keeps going.');
    // Follow to the end, so the outcome (ABORTED) is the one Step Functions records.
    await followHistory(env.clients, executionArn, feed, poll);
    return { kind: 'ended', outcome: reader.outcome() };
  } finally {
    unlisten();
  }
}

/** The exit code of a run that stopped following on Ctrl-C (the shell's 128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export interface RemoteRunnerOptions extends RemoteOptions {
  readonly clients?: RemoteClients;
  readonly now?: () => Date;
  readonly interrupts?: FollowEnvironment['interrupts'];
  readonly choose?: FollowEnvironment['choose'];
  /** When following stops on Ctrl-C; the default exits the process with EXIT_INTERRUPTED. */
  readonly onLeftRunning?: () => never;
}

/**
 * Starts an execution of the state machine `arn` and follows its history until it ends;
 * Ctrl-C that leaves it running exits the process (or calls options.onLeftRunning).
 * `resumeHint` says where the person can go on following it.
 */
async function startAndFollow(
  where: RemoteTarget,
  clients: RemoteClients,
  io: CliIo,
  options: RemoteRunnerOptions,
  execution: { readonly arn: string; readonly name: string; readonly input: unknown; readonly resumeHint: string },
  onEvent: (event: LifecycleEvent) => void,
): Promise<RemoteOutcome> {
  const { arn, name } = execution;
  const { executionArn } = await startExecution(clients, arn, name, execution.input);
  io.err(`Started ${name} on ${arn.split(':').pop() ?? arn} (stack ${where.stackName}, ${where.region}${where.endpoint ? `, endpoint ${where.endpoint}` : ''})`);
  if (!where.endpoint) io.err(`  console: https://${where.region}.console.aws.amazon.com/states/home?region=${where.region}#/v2/executions/details/${executionArn}`);
  const result = await followExecution(
    { clients, io, ...(options.interrupts ? { interrupts: options.interrupts } : {}), ...(options.choose ? { choose: options.choose } : {}) },
    executionArn,
    onEvent,
    execution.resumeHint,
  );
  if (result.kind === 'left-running') {
    if (options.onLeftRunning) options.onLeftRunning();
    process.exit(EXIT_INTERRUPTED);
  }
  return result.outcome;
}

/** A LifecycleRunner that starts the deployed state machine of the lifecycle and follows it. */
export function remoteRunner(config: OffsiteConfig, io: CliIo, options: RemoteRunnerOptions): LifecycleRunner {
  const where = remoteTarget(config, options);
  const clients = options.clients ?? remoteClients(where);
  return {
    where: 'remote',
    async run({ lifecycle, input, targetName, onEvent }) {
      const arn = stateMachineArnFrom(await stackOutputs(clients, where.stackName), lifecycle.id, where.stackName);
      const name = executionName(targetName, lifecycle.purpose, (options.now ?? (() => new Date()))());
      const resumeHint = `npm run offsite -- executions ${targetName} --follow ${name}${options.stack ? ` --stack ${options.stack}` : ''}${options.endpoint ? ` --endpoint ${options.endpoint}` : ''}`;
      return startAndFollow(where, clients, io, options, { arn, name, input, resumeHint }, onEvent);
    },
  };
}

/**
 * `backup --all --remote`: starts the deployed fan-out of each backup lifecycle (the stack
 * output `<LifecycleId>FanOutStateMachineArn`) with the input a hand-started partial run
 * gives, and follows its history; the fan-out's own states (each target's RunTargetLifecycle,
 * TargetSucceeded, RecordTargetFailure) feed the same lines as a local --all. The stack's
 * outputs are read once for all kinds.
 */
export function remoteFanOutRunner(config: OffsiteConfig, io: CliIo, options: RemoteRunnerOptions): FanOutRunner {
  const where = remoteTarget(config, options);
  const clients = options.clients ?? remoteClients(where);
  let outputs: Promise<Readonly<Record<string, string>>> | undefined;
  return async (lifecycle, input, onEvent) => {
    outputs ??= stackOutputs(clients, where.stackName);
    const available = await outputs;
    // The stack deploys a kind's fan-out only when one of its targets has a schedule.
    if (available[stateMachineOutputKey(`${lifecycle.id}FanOut`)] === undefined && available[stateMachineOutputKey(lifecycle.id)] !== undefined) {
      throw new RemoteError(
        `The stack ${where.stackName} has no fan-out for ${lifecycle.kind} (output ${stateMachineOutputKey(`${lifecycle.id}FanOut`)}): it is deployed only for kinds with a scheduled target. ` +
          `Leave the kind out with --kind, or back its targets up one at a time with \`offsite backup <target> --remote\`.`,
      );
    }
    const arn = stateMachineArnFrom(available, `${lifecycle.id}FanOut`, where.stackName);
    // "<kind>-all_backup_<time>_<hex>": no target is named so (names hold no "_"), and `executions` does not mistake it for one.
    const name = executionName(`${lifecycle.kind}-all`, lifecycle.purpose, (options.now ?? (() => new Date()))());
    const resumeHint = `the Step Functions console, execution ${name} (each target's own execution runs on ${lifecycle.kind}'s ${lifecycle.purpose} machine)`;
    return startAndFollow(where, clients, io, options, { arn, name, input, resumeHint }, onEvent);
  };
}
