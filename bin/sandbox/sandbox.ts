import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { kindOf, TARGET_KINDS } from '../../functions/kinds/registry';
import { archiveClient } from '../../functions/runtime/archive-client';
import { restoreCommand, restoreDestination, useConfig, type CliIo, type CommandResult } from '../cli/commands';
import { pruneCommand } from '../cli/prune';
import { statusCommand } from '../cli/status';
import { verifyCommand } from '../cli/verify';
import { archiveStatus } from '../../functions/archive/status';
import { listArchivedCopies } from '../../functions/archive/listing';
import { primaryPlace, secondaryPlace } from '../../functions/archive/places';
import { loadSandboxKind, type AnySandboxKind, type PollSettings, type RemoteRestore, type RoundContext, type SandboxSimulators, type Step } from './kinds';
import { startLocalS3, type LocalS3 } from './local-s3';
import { remoteRound } from '../remote/sandbox-round';
import { startLocalEndpoint } from '../remote/local-endpoint';
import { lifecycleFor } from '../../functions/catalog';
import { findTarget } from '../../functions/config/load';

export const SANDBOX_BUCKET = 'offsite-sandbox';
/** The secondary archive's bucket, in a second local store (another provider, as far as offsite can tell). */
export const SANDBOX_SECONDARY_BUCKET = 'offsite-sandbox-secondary';
/** The secondary's prefix: another one than the primary's, as a real secondary may have. */
export const SANDBOX_SECONDARY_PREFIX = 'copies/';
/** The environment variable holding the secondary's access key (archive.secondary.credentials). */
export const SANDBOX_SECONDARY_KEY_ENV = 'OFFSITE_SANDBOX_SECONDARY_KEY';

/** Each kind's simulator, under the shorthand its sandbox-round.ts declares (`sandbox.vps`, `sandbox.netboxCloud`). */
type Simulators = { readonly [Shorthand in keyof SandboxSimulators]: SandboxSimulators[Shorthand] extends { simulator: infer Simulator } ? Simulator : never };

/** Per kind: `<shorthand>` (the simulator's options) and, where the kind takes them, `<shorthand>Target` (overrides of its sandbox target). */
type KindOptions = { readonly [Shorthand in keyof SandboxSimulators]?: SandboxSimulators[Shorthand] extends { options: infer Options } ? Options : never } & {
  readonly [Shorthand in keyof SandboxSimulators as SandboxSimulators[Shorthand] extends { target: true } ? `${Shorthand}Target` : never]?: Record<string, unknown>;
};

export type SandboxEnvironment = Simulators & {
  readonly directory: string;
  readonly configPath: string;
  /** A file of `NAME=value` lines: what a shell needs to run the CLI against this sandbox (`set -a; . file; set +a`). */
  readonly envFile: string;
  readonly s3: LocalS3;
  /** The second local store, holding the secondary archive (archive.secondary); absent with `secondary: false`. */
  readonly secondaryS3: LocalS3 | undefined;
  /** What a process needs in its environment to run the CLI against this sandbox. */
  readonly env: Readonly<Record<string, string>>;
  /** Each kind's sandbox part, in registry order. */
  readonly kinds: readonly RunningKind[];
  stop(options?: { keepDirectory?: boolean }): Promise<void>;
};

export type SandboxOptions = KindOptions & {
  readonly directory?: string;
  readonly poll?: PollSettings;
  /** A second local store as the secondary archive (default true); false: the primary only, as without archive.secondary. */
  readonly secondary?: boolean;
  /** Sandbox parts by kind, instead of bin/sandbox/<kind>/ (a test's fixture kind); those of kinds the registry does not list start after the others. */
  readonly sandboxParts?: Readonly<Record<string, AnySandboxKind>>;
};

/** A kind's sandbox entry with its simulator bound, so the rest iterates without knowing simulator types. */
interface RunningKind {
  readonly kind: string;
  readonly shorthand: string;
  readonly simulator: unknown;
  targets(poll: PollSettings): { targets: Record<string, unknown>[]; env: Record<string, string> };
  describe(): string;
  round(context: Omit<RoundContext<unknown>, 'simulator'>): Promise<void>;
  readonly tryCommands: readonly string[];
  readonly remoteRestore: RemoteRestore | undefined;
  readonly loseBackups: (() => void) | undefined;
  stop(): Promise<void>;
}

async function startKind(kind: string, entry: AnySandboxKind, options: SandboxOptions): Promise<RunningKind> {
  const byName = options as Readonly<Record<string, unknown>>;
  const simulator = await entry.start(byName[entry.shorthand]);
  const target = byName[`${entry.shorthand}Target`] as Record<string, unknown> | undefined;
  const loseBackups = entry.loseBackups?.bind(entry);
  return {
    kind,
    shorthand: entry.shorthand,
    simulator,
    targets: (poll) => entry.targets(simulator, poll, target),
    describe: () => entry.describe(simulator),
    round: (context) => entry.round({ ...context, simulator }),
    tryCommands: entry.tryCommands,
    remoteRestore: entry.remoteRestore,
    loseBackups: loseBackups ? () => loseBackups(simulator) : undefined,
    stop: () => entry.stop(simulator),
  };
}

/** Every kind's simulator, one after the other (a failure stops those already started). */
async function startSimulators(options: SandboxOptions): Promise<RunningKind[]> {
  const parts = options.sandboxParts ?? {};
  const kinds = [...TARGET_KINDS, ...Object.keys(parts).filter((kind) => !(TARGET_KINDS as readonly string[]).includes(kind))];
  const running: RunningKind[] = [];
  try {
    for (const kind of kinds) running.push(await startKind(kind, parts[kind] ?? loadSandboxKind(kind), options));
  } catch (error) {
    await Promise.allSettled(running.map((entry) => entry.stop()));
    throw error;
  }
  return running;
}

/** The restore the remote round plays: the one kind whose sandbox part offers it. */
function remoteRestoreOf(kinds: readonly RunningKind[]): RemoteRestore {
  const offered = kinds.flatMap((entry) => (entry.remoteRestore ? [entry.remoteRestore] : []));
  if (offered[0] === undefined) throw new Error('no kind of the sandbox offers a remote restore (remoteRestore in its sandbox-round.ts)');
  return offered[0];
}

/** A value as one shell word: the env file is sourced (`. file`), and the secondary's key is JSON. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:@,+=-]*$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/** The simulators, a local S3 store and a configuration file pointing at them. */
export async function startSandboxEnvironment(options: SandboxOptions = {}): Promise<SandboxEnvironment> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'offsite-sandbox-')));
  const s3 = await startLocalS3({ directory: join(directory, 's3'), buckets: [SANDBOX_BUCKET] });
  let secondaryS3: LocalS3 | undefined;
  let running: RunningKind[];
  try {
    secondaryS3 = options.secondary === false ? undefined : await startLocalS3({ directory: join(directory, 's3-secondary'), buckets: [SANDBOX_SECONDARY_BUCKET] });
    running = await startSimulators(options);
  } catch (error) {
    await Promise.allSettled([s3.stop(), secondaryS3?.stop()]);
    throw error;
  }
  const poll = options.poll ?? { initialSeconds: 1, maxSeconds: 2, timeoutMinutes: 2 };
  const served = running.map((entry) => entry.targets(poll));
  const config = {
    archive: {
      bucket: SANDBOX_BUCKET,
      prefix: 'backups/',
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      // Its own endpoint and access key, as a bucket at another provider would have.
      ...(secondaryS3
        ? { secondary: { bucket: SANDBOX_SECONDARY_BUCKET, prefix: SANDBOX_SECONDARY_PREFIX, region: secondaryS3.region, endpoint: secondaryS3.endpoint, forcePathStyle: true, credentials: { env: SANDBOX_SECONDARY_KEY_ENV } } }
        : {}),
    },
    timezone: 'Europe/Berlin',
    targets: served.flatMap((entry) => entry.targets),
  };
  const configPath = join(directory, 'offsite.config.json');
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const env: Record<string, string> = {
    OFFSITE_CONFIG: configPath,
    ...Object.assign({}, ...served.map((entry) => entry.env)),
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    ...(secondaryS3 ? { [SANDBOX_SECONDARY_KEY_ENV]: JSON.stringify({ accessKeyId: secondaryS3.accessKeyId, secretAccessKey: secondaryS3.secretAccessKey }) } : {}),
  };
  const envFile = join(directory, 'sandbox.env');
  await writeFile(envFile, Object.entries(env).map(([name, value]) => `${name}=${shellWord(value)}\n`).join(''), { mode: 0o600 });
  const simulators = Object.fromEntries(running.map((entry) => [entry.shorthand, entry.simulator])) as Simulators;
  return {
    ...simulators,
    directory,
    configPath,
    envFile,
    s3,
    secondaryS3,
    env,
    kinds: running,
    async stop(stopOptions = {}) {
      await Promise.allSettled([...running.map((entry) => entry.stop()), s3.stop(), secondaryS3?.stop()]);
      if (!stopOptions.keepDirectory && !options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

async function sha256OfObject(config: ReturnType<typeof useConfig>, key: string): Promise<string> {
  const answer = await archiveClient(config.archive).send(new GetObjectCommand({ Bucket: config.archive.bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of answer.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Everything written to `io`, kept to check what a command said (and still shown). */
function recording(io: CliIo): { readonly io: CliIo; readonly text: () => string } {
  const lines: string[] = [];
  return {
    io: {
      out: (line) => (lines.push(line), io.out(line)),
      err: (line) => (lines.push(line), io.err(line)),
      errStream: io.errStream,
    },
    text: () => lines.join('\n'),
  };
}

/**
 * What the second copy is for: the vendor has lost its backups (replaced hardware) and the
 * newest primary copy rots on disk (one byte flipped, size unchanged); verify names it, and
 * a restore of exactly that copy still succeeds, from the secondary, saying so. For each
 * kind whose sandbox can lose its backups and whose restores take an archive key; it runs
 * last, since the primary copy stays bad.
 */
async function fallbackRound(sandbox: SandboxEnvironment, config: ReturnType<typeof useConfig>, io: CliIo, step: Step): Promise<void> {
  const secondary = await secondaryPlace(config);
  if (!secondary) return;
  const primary = primaryPlace(config);
  for (const entry of sandbox.kinds) {
    if (!entry.loseBackups) continue;
    const targets = config.targets.filter((target) => target.kind === entry.kind && kindOf(target).restore?.options.includes('archiveKey'));
    for (const target of targets) {
      const newest = (await listArchivedCopies(primary.s3, primary.bucket, primary.prefix, target.name)).copies[0];
      if (!newest) continue;
      const key = newest.manifest.objectKey;
      entry.loseBackups();
      await sandbox.s3.rotObject(primary.bucket, key);
      io.err(`Simulating replaced hardware again, and one byte of the primary copy ${key} flipped on disk, as bit rot would.`);
      io.out(`$ offsite verify ${target.name}`);
      const verify = recording(io);
      const verified = await verifyCommand(config, target.name, verify.io);
      step(verified.exitCode === 1 && verify.text().includes(`${key} in the primary differs`), `verify ${target.name}: exit 1 naming the rotten primary copy ${key}`);
      io.out(`$ offsite restore ${target.name} --archive-key ${key} --yes`);
      const restore = recording(io);
      const restored = await restoreCommand(config, target.name, restore.io, { archiveKey: key, confirm: restoreDestination(target, undefined) });
      step(restored.exitCode === 0 && /from the secondary copy/.test(restore.text()), `restore ${target.name} from ${key}: uploaded from the secondary copy, the primary's failing verification`);
      io.out('');
    }
  }
}

/** After the kinds' rounds: every archived copy read back (in both places), and the status table. */
async function archiveRound(config: ReturnType<typeof useConfig>, io: CliIo, step: Step): Promise<void> {
  const held = await archiveStatus(config, [primaryPlace(config)], new Date());
  const archived = held.filter((target) => target.heldBy === 'archive');
  // With a secondary, verify also fails for a copy the secondary lacks or holds with other
  // bytes than the primary's manifest records: passing, every copy is in both places.
  const secondary = await secondaryPlace(config);
  const where = secondary ? `, in the primary and in the secondary ${secondary.url}` : '';
  for (const target of archived) {
    io.out(`$ offsite verify ${target.name}`);
    const verified = await verifyCommand(config, target.name, io);
    step(verified.exitCode === 0, `verify ${target.name}: every archived copy matches its manifest${where}`);
  }
  // Every backup above already ended with its prune; this shows what retention keeps and why.
  for (const target of config.targets.filter((candidate) => 'retention' in candidate && candidate.retention !== undefined)) {
    io.out(`$ offsite prune ${target.name} --dry-run`);
    const pruned = await pruneCommand(config, target.name, io, { dryRun: true });
    const kept = pruned.report.copies.filter((copy) => copy.decision !== 'remove');
    step(
      pruned.exitCode === 0 && kept.length > 0,
      `prune ${target.name} (dry run): ${kept.length} kept (${[...new Set(kept.map((copy) => copy.reason))].join('; ')}), ${pruned.report.copies.length - kept.length} to remove`,
    );
  }
  io.out('$ offsite status');
  const status = await statusCommand(config, io);
  // With a secondary, a target holding archived copies holds them verified in both places.
  const inBoth = (target: (typeof status.targets)[number]): boolean => !target.places?.secondary || target.copies === 0 || (target.heldInBoth ?? 0) === target.copies;
  step(
    status.targets.length === config.targets.length && status.targets.every(inBoth),
    `status: ${status.targets.map((target) => `${target.name} ${target.state}${target.places?.secondary && target.copies > 0 ? ` (${target.heldInBoth ?? 0} of ${target.copies} verified in both places)` : ''}`).join(', ')}`,
  );
  io.out('');
}

/**
 * Until Ctrl-C: what a newcomer can try against the running sandbox, including a local
 * Step Functions endpoint standing in for the deployed stack (its executions run in this
 * process, with the sandbox's environment).
 */
async function serve(sandbox: SandboxEnvironment, config: ReturnType<typeof useConfig>, io: CliIo): Promise<void> {
  const endpoint = await startLocalEndpoint({ region: config.archive.region, ...(config.stackName ? { stackName: config.stackName } : {}) });
  try {
    const remote = remoteRestoreOf(sandbox.kinds);
    const restoreArn = endpoint.stateMachineArn(lifecycleFor(findTarget(config, remote.target).kind, 'restore').id);
    io.out('\nThe sandbox keeps running (simulators, the local S3 store and a local Step Functions endpoint) until Ctrl-C.');
    io.out(`  configuration: ${sandbox.configPath}`);
    io.out(`  local Step Functions endpoint (stack ${endpoint.stackName}): --endpoint ${endpoint.url}`);
    io.out(`  in another terminal, from this folder: set -a && . ${sandbox.envFile} && set +a`);
    io.out('  then try:');
    for (const entry of sandbox.kinds) for (const command of entry.tryCommands) io.out(`    ${command}`);
    io.out(`    npm run offsite -- backup ${remote.target} --remote --endpoint ${endpoint.url}`);
    io.out(`    npm run offsite -- executions ${remote.target} --endpoint ${endpoint.url}`);
    io.out(`    aws cloudformation describe-stacks --stack-name ${endpoint.stackName} --endpoint-url ${endpoint.url} --region ${endpoint.region}`);
    io.out(`    aws stepfunctions list-executions --state-machine-arn ${restoreArn} --endpoint-url ${endpoint.url} --region ${endpoint.region}`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    io.out('Stopping the sandbox.');
  } finally {
    await endpoint.stop();
  }
}

/** `npm start`: back up and restore every kind against the simulators, then say what happened. */
export async function sandboxCommand(io: CliIo, options: { keep: boolean; serve?: boolean }): Promise<CommandResult> {
  const sandbox = await startSandboxEnvironment();
  const summary: string[] = [];
  let failed = false;
  const step: Step = (ok, line) => {
    summary.push(`${ok ? '✔' : '✘'} ${line}`);
    failed ||= !ok;
  };
  try {
    Object.assign(process.env, sandbox.env);
    const config = useConfig(sandbox.configPath);
    const secondaryStore = sandbox.secondaryS3 ? `, a second local S3 at ${sandbox.secondaryS3.endpoint} as the secondary (bucket ${SANDBOX_SECONDARY_BUCKET}, prefix ${SANDBOX_SECONDARY_PREFIX})` : '';
    io.err(`Sandbox: ${sandbox.kinds.map((entry) => entry.describe()).join(', ')}, local S3 at ${sandbox.s3.endpoint} (bucket ${SANDBOX_BUCKET})${secondaryStore}\n`);
    for (const entry of sandbox.kinds) {
      await entry.round({ config, io, step, sha256OfObject: (key) => sha256OfObject(config, key) });
      io.out('');
    }
    const remote = remoteRestoreOf(sandbox.kinds);
    await remoteRound(config, io, step, remote.target, remote.to);
    io.out('');
    await archiveRound(config, io, step);
    await fallbackRound(sandbox, config, io, step);
  } catch (error) {
    step(false, `sandbox stopped: ${error instanceof Error ? error.message : String(error)}`);
  }
  io.out('Sandbox summary');
  for (const line of summary) io.out(`  ${line}`);
  try {
    if (options.serve && !failed) await serve(sandbox, useConfig(sandbox.configPath), io);
  } finally {
    await sandbox.stop({ keepDirectory: options.keep });
  }
  if (options.keep) io.out(`  (kept ${sandbox.directory})`);
  return { exitCode: failed ? 1 : 0 };
}
