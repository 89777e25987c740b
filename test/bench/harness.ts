// What the benchmark's orchestrator (copy-benchmark.ts) and its two directions
// (download: copy-benchmark.ts, upload: upload-direction.ts) share: starting, talking to
// and ending child processes, bundling a child the way the Lambdas are bundled, running
// external tools under /usr/bin/time, and printing the tables. Runs in the orchestrator
// only; the measured children load bench-child.ts instead.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CpuFigures, MemoryFigures, RawReadResult, SourceReady, StoreReady } from './bench-child';

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;
/** The done criterion of both directions: peak RSS of the process as deployed under 200 MB (decimal) for at least 1 GiB. */
export const MEMORY_LIMIT_BYTES = 200 * 1000 * 1000;
export const MEMORY_CHECK_MIN_MIB = 1024;
export const BUCKET = 'offsite-bench';

export const ROOT = resolve(__dirname, '..', '..');
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

// ---------------------------------------------------------------------------- child processes

/** Every process this run started, so cleanup can end exactly those (by PID / own process group). */
const children = new Set<ChildProcess>();
const outputTails = new WeakMap<ChildProcess, string>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  outputTails.set(child, '');
  const keep = (chunk: Buffer): void => {
    outputTails.set(child, ((outputTails.get(child) ?? '') + chunk.toString('utf8')).slice(-4000));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

export function outputTail(child: ChildProcess): string {
  const tail = (outputTails.get(child) ?? '').trim();
  return tail ? `\n    ${tail.split('\n').slice(-12).join('\n    ')}` : '';
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Each child leads its own process group (detached), so this reaches what it started too (esbuild, rclone under time). */
export function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid || !running(child)) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (!running(child)) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(done, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  signalChild(child, 'SIGTERM');
  await waitForExit(child, 5000);
  if (running(child)) {
    signalChild(child, 'SIGKILL');
    await waitForExit(child, 5000);
  }
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
}

/** For process 'exit': no more awaiting, just end what this run started. */
export function killAllChildrenNow(): void {
  for (const child of children) signalChild(child, 'SIGKILL');
}

/** How to start a Node child: the module and node's own flags. */
export interface NodeLaunch {
  readonly module: string;
  readonly execArgv: readonly string[];
}

/** A .ts file next to this one, run from source through tsx's loader. */
export function tsLaunch(file: string): NodeLaunch {
  return { module: join(__dirname, file), execArgv: ['--import', TSX_LOADER] };
}

export function forkNode(launch: NodeLaunch, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return track(
    fork(launch.module, [], {
      cwd: ROOT,
      env,
      execArgv: [...launch.execArgv],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    }),
  );
}

/** The child's first IPC message; kills the child if it does not come within timeoutMs. */
export function firstMessage<T>(child: ChildProcess, label: string, timeoutMs: number): Promise<T> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      cleanup();
      signalChild(child, 'SIGKILL');
      fail(new Error(`${label}: no answer within ${Math.round(timeoutMs / 1000)} s; killed (pid ${child.pid ?? '?'})${outputTail(child)}`));
    }, timeoutMs);
    const onMessage = (message: unknown): void => {
      cleanup();
      done(message as T);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      fail(new Error(`${label}: exited (${signal ?? `code ${code ?? '?'}`}) before answering${outputTail(child)}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** One job in one fresh child process: sends the job, returns the child's answer, and sees the child gone. */
export async function runChildJob<T>(launch: NodeLaunch, job: object, label: string, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<T> {
  const child = forkNode(launch, env);
  const answer = firstMessage<T>(child, label, timeoutMs);
  child.send(job);
  try {
    return await answer;
  } finally {
    await waitForExit(child, 10_000);
    signalChild(child, 'SIGKILL');
  }
}

/** The environment for a child that talks to the local S3 store: its credentials and nothing of the caller's AWS session. */
export function storeEnv(store: StoreReady): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: store.accessKeyId,
    AWS_SECRET_ACCESS_KEY: store.secretAccessKey,
    AWS_REGION: store.region,
  };
  delete env['AWS_PROFILE'];
  delete env['AWS_SESSION_TOKEN'];
  return env;
}

// ---------------------------------------------------------------------------- bundles, as deployed

export interface Bundle {
  readonly launch?: NodeLaunch;
  readonly reason?: string;
}

/**
 * A child (a .ts file next to this one) bundled the way lib/offsite-function.ts has
 * NodejsFunction bundle the Lambdas (esbuild, everything inlined, minified, CJS, source
 * maps without sources; target: the Node running this benchmark), run under plain node
 * with the given flags (the Lambda's NODE_OPTIONS). No launch, with the reason, when
 * esbuild is not there.
 */
export async function bundleEntry(directory: string, file: string, execArgv: readonly string[]): Promise<Bundle> {
  try {
    const esbuild = await import('esbuild');
    const outfile = join(directory, file.replace(/\.ts$/, '.cjs'));
    await esbuild.build({
      entryPoints: [join(__dirname, file)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${process.versions.node.split('.')[0] ?? '20'}`,
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      logLevel: 'silent',
    });
    return { launch: { module: outfile, execArgv } };
  } catch (error) {
    return { reason: `could not bundle ${file} with esbuild: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
}

// ---------------------------------------------------------------------------- external tools

export interface ToolCheck {
  readonly rclone?: string;
  readonly curl?: string;
  readonly bash: boolean;
  readonly gnuTime: boolean;
}

function firstLine(argv: readonly string[]): string | undefined {
  const run = spawnSync(argv[0] ?? 'false', argv.slice(1), { encoding: 'utf8', timeout: 15_000 });
  return run.error || run.status !== 0 ? undefined : (run.stdout.split('\n')[0] ?? argv[0] ?? '').trim();
}

export function checkTools(): ToolCheck {
  const rclone = firstLine(['rclone', 'version']);
  const curl = firstLine(['curl', '--version']);
  const bash = firstLine(['bash', '-c', 'set -o pipefail && echo ok']) === 'ok';
  const time = existsSync('/usr/bin/time') ? spawnSync('/usr/bin/time', ['-v', 'true'], { encoding: 'utf8', timeout: 15_000 }) : undefined;
  const gnuTime = time !== undefined && !time.error && time.status === 0 && time.stderr.includes('Maximum resident set size');
  return { ...(rclone ? { rclone } : {}), ...(curl ? { curl: curl.split(' ').slice(0, 2).join(' ') } : {}), bash, gnuTime };
}

/** The flags that point rclone at the local S3 store (an on-the-fly `:s3:` remote), without reading or writing any config. */
export function rcloneStoreArgs(store: StoreReady, workDir: string): string[] {
  return [
    '--config',
    join(workDir, 'rclone.conf'), // does not exist: no user config is read, nothing is written
    '--s3-provider',
    'Other',
    '--s3-endpoint',
    store.endpoint,
    '--s3-access-key-id',
    store.accessKeyId,
    '--s3-secret-access-key',
    store.secretAccessKey,
    '--s3-region',
    store.region,
    '--s3-force-path-style=true',
    '--s3-no-check-bucket',
    '--low-level-retries',
    '2',
    '--stats',
    '0',
  ];
}

export interface CommandRun {
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
}

/** Runs argv as its own process group in workDir, killing it after timeoutMs; ok when it exits 0. */
export async function runCommand(argv: readonly string[], workDir: string, timeoutMs: number): Promise<CommandRun> {
  const started = performance.now();
  const child = track(
    spawn(argv[0] ?? 'false', argv.slice(1), {
      cwd: workDir,
      env: { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    }),
  );
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalChild(child, 'SIGKILL');
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => {
    child.once('error', () => done([null, null]));
    child.once('exit', (exitCode, exitSignal) => done([exitCode, exitSignal]));
  });
  clearTimeout(timer);
  const elapsedMs = performance.now() - started;
  if (timedOut) return { ok: false, error: `timed out after ${Math.round(timeoutMs / 1000)} s; killed`, elapsedMs };
  if (code !== 0) return { ok: false, error: `exited ${signal ?? `with code ${code ?? '?'}`}${outputTail(child)}`, elapsedMs };
  return { ok: true, elapsedMs };
}

/** User + system CPU seconds from a `/usr/bin/time -v -o file` report. */
export function cpuSecondsFrom(timeFile: string): number | undefined {
  if (!existsSync(timeFile)) return undefined;
  const report = readFileSync(timeFile, 'utf8');
  const user = /User time \(seconds\): ([\d.]+)/.exec(report)?.[1];
  const system = /System time \(seconds\): ([\d.]+)/.exec(report)?.[1];
  return user === undefined || system === undefined ? undefined : Number(user) + Number(system);
}

/** User + system CPU seconds a measured Node child reported, per GiB moved. */
export function cpuPerGiB(cpu: CpuFigures | undefined, sizeBytes: number): number | undefined {
  return cpu === undefined ? undefined : (cpu.userMicros + cpu.systemMicros) / 1e6 / (sizeBytes / GIB);
}

/**
 * User + system CPU seconds a running process (and its waited-for children) has used so
 * far, from /proc/PID/stat; undefined where there is no /proc. For the store's share of a
 * copy: the difference of two readings around it.
 */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (in parentheses, which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const ticksPerSecond = 100; // USER_HZ on Linux (getconf CLK_TCK)
  return Number.isFinite(ticks) ? ticks / ticksPerSecond : undefined;
}

/** "Maximum resident set size" from a `/usr/bin/time -v -o file` report, in KiB. */
export function maxRssKiBFrom(timeFile: string): number | undefined {
  if (!existsSync(timeFile)) return undefined;
  const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, 'utf8'));
  return match?.[1] ? Number(match[1]) : undefined;
}

export async function deleteQuietly(s3: S3Client, keys: readonly string[]): Promise<void> {
  for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).catch(() => undefined);
}

// ---------------------------------------------------------------------------- report

export interface Row {
  readonly name: string;
  readonly seconds?: number;
  readonly mibPerSecond?: number;
  readonly peakRssMiB?: number;
  /** User + system CPU seconds of the measured process per GiB moved. */
  readonly cpuSecondsPerGiB?: number;
  readonly note: string;
}

/** The row of a raw read (the upper bound of a direction), and its rate when it read every byte. */
export function rawReadRow(name: string, raw: RawReadResult, sizeBytes: number): { readonly row: Row; readonly rate: number | undefined } {
  const complete = raw.ok && raw.bytes === sizeBytes;
  const rate = complete ? mib(sizeBytes) / (raw.elapsedMs / 1000) : undefined;
  return {
    rate,
    row: {
      name,
      seconds: raw.elapsedMs / 1000,
      ...(rate !== undefined ? { mibPerSecond: rate } : {}),
      peakRssMiB: mib(peakRssBytes(raw.memory)),
      ...(raw.cpu ? { cpuSecondsPerGiB: cpuPerGiB(raw.cpu, sizeBytes) } : {}),
      note: complete ? 'read and discarded' : `FAILED: ${raw.error ?? `read ${raw.bytes} of ${sizeBytes} bytes`}`,
    },
  };
}

export const fixed = (value: number | undefined, digits: number): string => (value === undefined ? '-' : value.toFixed(digits));
export const mib = (bytes: number): number => bytes / MIB;
export const mibText = (bytes: number): string => `${mib(bytes).toFixed(1)} MiB`;

/** Left-aligned first and last columns, right-aligned numbers in between. */
export function printColumns(header: readonly string[], lines: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)));
  const last = header.length - 1;
  const format = (line: readonly string[]): string =>
    line
      .map((cell, column) => (column === last ? cell : column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  console.log(format(header));
  console.log(format(widths.map((width) => '-'.repeat(width))));
  for (const line of lines) console.log(format(line));
}

export function printRows(rows: readonly Row[]): void {
  printColumns(
    ['peer', 'seconds', 'MiB/s', 'CPU s/GiB', 'peak RSS MiB', 'notes'],
    rows.map((row) => [row.name, fixed(row.seconds, 2), fixed(row.mibPerSecond, 1), fixed(row.cpuSecondsPerGiB, 2), fixed(row.peakRssMiB, 1), row.note]),
  );
}

/** The middle value (the mean of the two middle ones for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  const upper = sorted[Math.floor(sorted.length / 2)];
  if (upper === undefined) return undefined;
  const lower = sorted.length % 2 === 0 ? sorted[sorted.length / 2 - 1] : upper;
  return lower === undefined ? upper : (lower + upper) / 2;
}

/** The item whose measure is the median (the lower middle for an even count); undefined for none. */
export function medianBy<T>(items: readonly T[], measure: (item: T) => number): T | undefined {
  return [...items].sort((a, b) => measure(a) - measure(b))[Math.floor((items.length - 1) / 2)];
}

export function ratio(numerator: number | undefined, denominator: number | undefined): string {
  return numerator === undefined || denominator === undefined || denominator === 0 ? 'n/a' : `${(numerator / denominator).toFixed(2)}x`;
}

export function peakRssBytes(memory: MemoryFigures): number {
  return Math.max(memory.maxRssKiB * 1024, memory.sampledPeakRssBytes);
}

/** One line on where a measured Node process's memory went. */
export function memoryLine(name: string, memory: MemoryFigures, work: string): string {
  return (
    `  ${name}: maxRSS ${mibText(memory.maxRssKiB * 1024)}, sampled peak ${mibText(memory.sampledPeakRssBytes)} ` +
    `(${memory.samples} samples), ${mibText(memory.baselineRssBytes)} before the ${work}; at the sampled peak: ` +
    `heap ${mibText(memory.atPeak.heapUsed)} used of ${mibText(memory.atPeak.heapTotal)}, ` +
    `external ${mibText(memory.atPeak.external)} (array buffers ${mibText(memory.atPeak.arrayBuffers)})`
  );
}

export interface GateOutcome {
  readonly failed: boolean;
  readonly line: string;
}

/** The < 200 MB peak-RSS check for the process as deployed; a report line for the others or below 1 GiB. */
export function memoryGate(name: string, peakBytes: number, sizeMiB: number, gated: boolean, work: string, notGatedBecause: string): GateOutcome {
  const figure = `peak RSS ${(peakBytes / 1e6).toFixed(1)} MB (${mibText(peakBytes)})`;
  const checked = sizeMiB >= MEMORY_CHECK_MIN_MIB;
  if (checked && !gated) return { failed: false, line: `memory, ${name}: ${figure} — reported, not gated (${notGatedBecause})` };
  if (!checked) {
    return {
      failed: false,
      line: `memory, ${name}: NOT CHECKED — ${figure}; the < 200 MB criterion needs ${work} of >= ${MEMORY_CHECK_MIN_MIB} MiB (this run: ${sizeMiB} MiB)`,
    };
  }
  if (peakBytes < MEMORY_LIMIT_BYTES) return { failed: false, line: `memory, ${name}: PASS — ${figure} < 200 MB for ${work} of ${sizeMiB} MiB` };
  return { failed: true, line: `memory, ${name}: FAIL — ${figure} >= 200 MB for ${work} of ${sizeMiB} MiB` };
}

export const progress = (message: string): void => {
  console.error(`[bench] ${message}`);
};

/** One argument for bash, single-quoted. */
export function shellQuote(argument: string): string {
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------- the run

/** What both directions measure against: one source, one store, one size, one set of tools. */
export interface BenchContext {
  readonly sizeMiB: number;
  readonly sizeBytes: number;
  readonly source: SourceReady;
  readonly store: StoreReady;
  /** The store's process, for its CPU time. */
  readonly storePid?: number;
  /** The orchestrator's own client for the store, for seeding and checking. */
  readonly s3: S3Client;
  readonly tools: ToolCheck;
  readonly workDir: string;
  readonly stepTimeoutMs: number;
}

export interface DirectionOutcome {
  /** What failed (verification, the memory gate); the run exits non-zero when any did. */
  readonly failures: readonly string[];
  /** A baseline peer failed, so the figures are incomplete. */
  readonly incomplete: boolean;
}
