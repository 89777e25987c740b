// `npm run bench [-- --size-mib N]`: measures the streaming copier (functions/archive/
// copier.ts) moving a download from a local HTTP server into the local S3-compatible
// store, next to two peers measured in the same run against the same source and store:
// the raw HTTP read rate (fetch and discard) and `rclone copyurl` (Debian package).
//
// Every party runs in its own process, so the copier's peak memory is the copier's:
//   source-server.ts  deterministic pseudo-random bytes over HTTP on 127.0.0.1 (GET only)
//   store-server.ts   bin/sandbox/local-s3.ts (s3rver) on 127.0.0.1, data in a temp dir
//   raw-read.ts       fetch + discard, one fresh process
//   copier-run.ts     copyToArchive with verification on, one fresh process per form:
//                     - from source through tsx (how the project runs TypeScript), and
//                     - as deployed: an esbuild bundle made like NodejsFunction's (minified,
//                       CJS, source maps) under plain node --enable-source-maps, so the
//                       figure is free of tsx's loader and has the Lambda's source maps
//   rclone            under /usr/bin/time -v for its peak RSS, when both are installed
// The orchestrator (this file) verifies what landed in the store itself: object size,
// manifest, and the SHA-256 of the stored bytes read back, against what was served.
//
// Done criterion checked here: a 1 GiB copy keeps the copy process's peak RSS < 200 MB,
// for the copier as deployed (the tsx form is reported alongside).
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { COPY_NODE_OPTIONS } from '../../functions/catalog';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { localS3Client } from '../../bin/sandbox/local-s3';
import type { CopierJob, CopierResult, MemoryFigures, RawReadJob, RawReadResult, SourceJob, SourceReady, StoreJob, StoreReady } from './bench-child';

const MIB = 1024 * 1024;
const DEFAULT_SIZE_MIB = 1024;
/** The done criterion: peak RSS of the copy process under 200 MB (decimal) for a copy of at least 1 GiB. */
const MEMORY_LIMIT_BYTES = 200 * 1000 * 1000;
const MEMORY_CHECK_MIN_MIB = 1024;
/** s3rver keeps every part until the upload completes, then writes the whole object: parts + object + slack. */
const DISK_FACTOR = 3;
const DISK_SLACK_BYTES = 256 * MIB;
const BUCKET = 'offsite-bench';
const COPIER_KEY = 'bench/offsite-copier.bin';
const MANIFEST_KEY = `${COPIER_KEY}.manifest.json`;
const RCLONE_KEY = 'bench/rclone-copyurl.bin';
/** The copier's production defaults (copier.ts); rclone is given the same part size and concurrency. */
const PART_SIZE = '5Mi';
const PARTS_IN_FLIGHT = 4;

const ROOT = resolve(__dirname, '..', '..');
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

class SetupError extends Error {}

// ---------------------------------------------------------------------------- options

interface Options {
  readonly sizeMiB: number;
}

const USAGE = `usage: npm run bench [-- --size-mib N]
  --size-mib N   bytes to copy, in MiB (default ${DEFAULT_SIZE_MIB}; env BENCH_SIZE_MIB).
                 The ${MEMORY_LIMIT_BYTES / 1e6} MB peak-memory check needs N >= ${MEMORY_CHECK_MIN_MIB}.
  Temporary data goes under $TMPDIR (${tmpdir()}); it needs about ${DISK_FACTOR}x N MiB free.`;

function parseOptions(argv: readonly string[]): Options {
  let raw = process.env['BENCH_SIZE_MIB'];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === '--size-mib') {
      raw = argv[i + 1];
      i += 1;
    } else if (arg.startsWith('--size-mib=')) {
      raw = arg.slice('--size-mib='.length);
    } else {
      throw new SetupError(`unknown argument "${arg}"\n${USAGE}`);
    }
  }
  const sizeMiB = raw === undefined || raw === '' ? DEFAULT_SIZE_MIB : Number(raw);
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 64 * 1024) {
    throw new SetupError(`--size-mib must be a whole number of MiB between 1 and 65536, not "${raw ?? ''}"`);
  }
  return { sizeMiB };
}

// ---------------------------------------------------------------------------- child processes

/** Every process this run started, so cleanup can end exactly those (by PID / own process group). */
const children = new Set<ChildProcess>();
const outputTails = new WeakMap<ChildProcess, string>();

function track(child: ChildProcess): ChildProcess {
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

function outputTail(child: ChildProcess): string {
  const tail = (outputTails.get(child) ?? '').trim();
  return tail ? `\n    ${tail.split('\n').slice(-12).join('\n    ')}` : '';
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Each child leads its own process group (detached), so this reaches what it started too (esbuild, rclone under time). */
function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  signalChild(child, 'SIGTERM');
  await waitForExit(child, 5000);
  if (running(child)) {
    signalChild(child, 'SIGKILL');
    await waitForExit(child, 5000);
  }
}

/** How to start a Node child: the module and node's own flags. */
interface NodeLaunch {
  readonly module: string;
  readonly execArgv: readonly string[];
}

/** A .ts file next to this one, run from source through tsx's loader. */
function tsLaunch(file: string): NodeLaunch {
  return { module: join(__dirname, file), execArgv: ['--import', TSX_LOADER] };
}

function forkNode(launch: NodeLaunch, env: NodeJS.ProcessEnv = process.env): ChildProcess {
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
function firstMessage<T>(child: ChildProcess, label: string, timeoutMs: number): Promise<T> {
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

async function runChildJob<T>(launch: NodeLaunch, job: object, label: string, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<T> {
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

// ---------------------------------------------------------------------------- the copier as deployed

/**
 * copier-run.ts bundled the way lib/offsite-function.ts has NodejsFunction bundle the
 * copy Lambda (esbuild, everything inlined, minified, CJS, source maps without sources;
 * target: the Node running this benchmark), run like the Lambda (--enable-source-maps).
 * Undefined, with the reason, when esbuild is not there.
 */
async function bundleCopier(directory: string): Promise<{ launch?: NodeLaunch; reason?: string }> {
  try {
    const esbuild = await import('esbuild');
    const outfile = join(directory, 'copier-run.cjs');
    await esbuild.build({
      entryPoints: [join(__dirname, 'copier-run.ts')],
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
    return { launch: { module: outfile, execArgv: COPY_NODE_OPTIONS.split(' ') } };
  } catch (error) {
    return { reason: `could not bundle with esbuild: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
}

// ---------------------------------------------------------------------------- rclone

interface ToolCheck {
  readonly rclone?: string;
  readonly gnuTime: boolean;
}

function checkTools(): ToolCheck {
  const version = spawnSync('rclone', ['version'], { encoding: 'utf8', timeout: 15_000 });
  const rclone = version.error || version.status !== 0 ? undefined : (version.stdout.split('\n')[0] ?? 'rclone').trim();
  const time = existsSync('/usr/bin/time') ? spawnSync('/usr/bin/time', ['-v', 'true'], { encoding: 'utf8', timeout: 15_000 }) : undefined;
  const gnuTime = time !== undefined && !time.error && time.status === 0 && time.stderr.includes('Maximum resident set size');
  return { ...(rclone ? { rclone } : {}), gnuTime };
}

interface RcloneRun {
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly maxRssKiB?: number;
}

async function runRclone(url: string, store: StoreReady, tools: ToolCheck, workDir: string, timeoutMs: number): Promise<RcloneRun> {
  const timeFile = join(workDir, 'rclone.time.txt');
  const rcloneArgs = [
    'copyurl',
    url,
    `:s3:${BUCKET}/${RCLONE_KEY}`,
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
    '--s3-chunk-size',
    PART_SIZE,
    '--s3-upload-concurrency',
    String(PARTS_IN_FLIGHT),
    '--low-level-retries',
    '2',
    '--stats',
    '0',
  ];
  // `env -u AWS_CA_BUNDLE`: rclone's AWS SDK fails on a CA bundle meant for other tools (DESIGN.md).
  const command = ['env', '-u', 'AWS_CA_BUNDLE', 'rclone', ...rcloneArgs];
  const argv = tools.gnuTime ? ['/usr/bin/time', '-v', '-o', timeFile, ...command] : command;
  const started = performance.now();
  const child = track(
    spawn(argv[0] ?? 'env', argv.slice(1), {
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
  let maxRssKiB: number | undefined;
  if (tools.gnuTime && existsSync(timeFile)) {
    const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, 'utf8'));
    if (match?.[1]) maxRssKiB = Number(match[1]);
  }
  if (timedOut) return { ok: false, error: `timed out after ${Math.round(timeoutMs / 1000)} s; killed`, elapsedMs };
  if (code !== 0) return { ok: false, error: `exited ${signal ?? `with code ${code ?? '?'}`}${outputTail(child)}`, elapsedMs, ...(maxRssKiB ? { maxRssKiB } : {}) };
  return { ok: true, elapsedMs, ...(maxRssKiB ? { maxRssKiB } : {}) };
}

// ---------------------------------------------------------------------------- verification in the store

const storeClient = (store: StoreReady): S3Client => localS3Client(store);

/** Problems with the stored object, read back from the store and hashed here; empty when it is exactly what was served. */
async function checkStoredObject(s3: S3Client, key: string, source: SourceReady): Promise<string[]> {
  const problems: string[] = [];
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  if (head.ContentLength !== source.sizeBytes) problems.push(`stored object is ${head.ContentLength ?? '?'} bytes, served ${source.sizeBytes}`);
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of object.Body as Readable) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    hash.update(buffer);
  }
  const sha256 = hash.digest('hex');
  if (bytes !== source.sizeBytes) problems.push(`read back ${bytes} bytes, served ${source.sizeBytes}`);
  if (sha256 !== source.sha256) problems.push(`read-back sha256 ${sha256} != served ${source.sha256}`);
  return problems;
}

async function checkCopierOutcome(s3: S3Client, result: CopierResult, source: SourceReady): Promise<string[]> {
  const problems: string[] = [];
  if (result.sizeBytes !== source.sizeBytes) problems.push(`copier reported ${result.sizeBytes ?? '?'} bytes, served ${source.sizeBytes}`);
  if (result.sha256 !== source.sha256) problems.push(`copier reported sha256 ${result.sha256 ?? '?'}, served ${source.sha256}`);
  if (result.sourceChecksumVerified !== true) problems.push('copier did not verify the source checksum');
  const manifestKey = result.manifestKey ?? MANIFEST_KEY;
  const manifestObject = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: manifestKey }));
  const manifest = JSON.parse((await manifestObject.Body?.transformToString()) ?? '{}') as Record<string, unknown>;
  if (manifest['objectKey'] !== COPIER_KEY) problems.push(`manifest objectKey ${String(manifest['objectKey'])} != ${COPIER_KEY}`);
  if (manifest['sizeBytes'] !== source.sizeBytes) problems.push(`manifest sizeBytes ${String(manifest['sizeBytes'])} != served ${source.sizeBytes}`);
  if (manifest['sha256'] !== source.sha256) problems.push(`manifest sha256 ${String(manifest['sha256'])} != served ${source.sha256}`);
  if (manifest['sourceChecksumVerified'] !== true) problems.push('manifest says the source checksum was not verified');
  problems.push(...(await checkStoredObject(s3, COPIER_KEY, source)));
  const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  if ((open.Uploads ?? []).length > 0) problems.push(`${open.Uploads?.length ?? 0} multipart upload(s) left open`);
  return problems;
}

async function deleteQuietly(s3: S3Client, keys: readonly string[]): Promise<void> {
  for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).catch(() => undefined);
}

// ---------------------------------------------------------------------------- report

interface Row {
  readonly name: string;
  readonly seconds?: number;
  readonly mibPerSecond?: number;
  readonly peakRssMiB?: number;
  readonly note: string;
}

const fixed = (value: number | undefined, digits: number): string => (value === undefined ? '-' : value.toFixed(digits));
const mib = (bytes: number): number => bytes / MIB;
const mibText = (bytes: number): string => `${mib(bytes).toFixed(1)} MiB`;

/** Left-aligned first and last columns, right-aligned numbers in between. */
function printColumns(header: readonly string[], lines: readonly (readonly string[])[]): void {
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

function ratio(numerator: number | undefined, denominator: number | undefined): string {
  return numerator === undefined || denominator === undefined || denominator === 0 ? 'n/a' : `${(numerator / denominator).toFixed(2)}x`;
}

function peakRssBytes(memory: MemoryFigures): number {
  return Math.max(memory.maxRssKiB * 1024, memory.sampledPeakRssBytes);
}

const progress = (message: string): void => {
  console.error(`[bench] ${message}`);
};

// ---------------------------------------------------------------------------- measurements

interface CopierMeasurement {
  readonly name: string;
  readonly row: Row;
  readonly problems: readonly string[];
  readonly memory: MemoryFigures;
  readonly peakBytes: number;
  /** MiB/s, only for a verified copy. */
  readonly rate?: number;
}

async function measureCopier(
  name: string,
  launch: NodeLaunch,
  job: CopierJob,
  env: NodeJS.ProcessEnv,
  s3: S3Client,
  source: SourceReady,
  timeoutMs: number,
): Promise<CopierMeasurement> {
  const result = await runChildJob<CopierResult>(launch, job, name, timeoutMs, env);
  let problems: string[];
  if (!result.ok) {
    problems = [`copy failed: ${result.error ?? '?'}`];
  } else {
    progress(`    verifying the object and manifest of ${name} (reading the object back)`);
    problems = await checkCopierOutcome(s3, result, source).catch((error: unknown) => [`could not verify: ${String(error)}`]);
  }
  await deleteQuietly(s3, [COPIER_KEY, MANIFEST_KEY]);
  const seconds = result.elapsedMs / 1000;
  const rate = problems.length === 0 ? mib(source.sizeBytes) / seconds : undefined;
  const peakBytes = peakRssBytes(result.memory);
  return {
    name,
    problems,
    memory: result.memory,
    peakBytes,
    ...(rate !== undefined ? { rate } : {}),
    row: {
      name,
      seconds,
      ...(rate !== undefined ? { mibPerSecond: rate } : {}),
      peakRssMiB: mib(peakBytes),
      note: problems.length === 0 ? 'verified: size, manifest, read-back sha256' : `FAILED: ${problems.join('; ')}`,
    },
  };
}

// ---------------------------------------------------------------------------- main

let workDir: string | undefined;
let cleaningUp: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    await Promise.all([...children].map((child) => stopChild(child)));
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  })();
  return cleaningUp;
}

async function main(): Promise<number> {
  const runStarted = performance.now();
  const options = parseOptions(process.argv.slice(2));
  const sizeBytes = options.sizeMiB * MIB;
  const stepTimeoutMs = (120 + options.sizeMiB * 0.5) * 1000;
  // The SDK's notice that it will drop Node 20 in 2027 says nothing about this run.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

  const temp = tmpdir();
  const disk = statfsSync(temp);
  const freeBytes = disk.bavail * disk.bsize;
  const neededBytes = DISK_FACTOR * sizeBytes + DISK_SLACK_BYTES;
  if (freeBytes < neededBytes) {
    throw new SetupError(
      `not enough free disk under ${temp}: ${mib(freeBytes).toFixed(0)} MiB free, about ${mib(neededBytes).toFixed(0)} MiB needed ` +
        `(the local S3 store keeps every part of a ${options.sizeMiB} MiB upload and then writes the whole object, ` +
        `plus room for the next peer). Point TMPDIR at a larger disk or pass a smaller --size-mib.`,
    );
  }
  const tools = checkTools();
  workDir = mkdtempSync(join(temp, 'offsite-bench-'));

  console.log(`offsite copy benchmark: ${options.sizeMiB} MiB (${sizeBytes} bytes) of deterministic pseudo-random data`);
  console.log(`host: ${cpus().length} CPU(s) shared by the source, the store and the peer being measured; Node ${process.version}`);

  progress('bundling the copier as deployed (esbuild)');
  const bundle = await bundleCopier(workDir);

  progress('starting the HTTP source (hashing its stream once up front)');
  const sourceChild = forkNode(tsLaunch('source-server.ts'));
  const sourceAnswer = firstMessage<SourceReady>(sourceChild, 'HTTP source', 60_000 + options.sizeMiB * 100);
  sourceChild.send({ sizeBytes } satisfies SourceJob);
  const source = await sourceAnswer;

  progress('starting the local S3 store');
  const storeChild = forkNode(tsLaunch('store-server.ts'));
  const storeAnswer = firstMessage<StoreReady>(storeChild, 'S3 store', 60_000);
  storeChild.send({ directory: join(workDir, 's3'), bucket: BUCKET } satisfies StoreJob);
  const store = await storeAnswer;
  const s3 = storeClient(store);

  console.log(`source: ${source.url} (pid ${sourceChild.pid ?? '?'}), sha256 ${source.sha256}`);
  console.log(`store:  s3rver ${store.endpoint} (pid ${storeChild.pid ?? '?'}), bucket ${BUCKET}, data under ${workDir}`);
  if (tools.rclone) {
    console.log(`rclone: ${tools.rclone}${tools.gnuTime ? ', peak RSS from /usr/bin/time -v' : '; /usr/bin/time -v not available: its peak RSS is not measured'}`);
    console.log(`copier and rclone both upload ${PART_SIZE}B parts, ${PARTS_IN_FLIGHT} in flight (the copier's production defaults)`);
  } else {
    console.log('rclone: not installed (apt-get install rclone) — skipped');
    console.log(`copier uploads ${PART_SIZE}B parts, ${PARTS_IN_FLIGHT} in flight (its production defaults)`);
  }
  console.log('');

  const rows: Row[] = [];
  const copiers: CopierMeasurement[] = [];
  let incomplete = false;

  // 1. raw HTTP read
  progress('raw HTTP read (fetch, discard)');
  const raw = await runChildJob<RawReadResult>(tsLaunch('raw-read.ts'), { url: source.url } satisfies RawReadJob, 'raw HTTP read', stepTimeoutMs);
  const rawComplete = raw.ok && raw.bytes === sizeBytes;
  const rawRate = rawComplete ? mib(sizeBytes) / (raw.elapsedMs / 1000) : undefined;
  if (!rawComplete) incomplete = true;
  rows.push({
    name: 'raw HTTP read (node fetch)',
    seconds: raw.elapsedMs / 1000,
    ...(rawRate !== undefined ? { mibPerSecond: rawRate } : {}),
    peakRssMiB: mib(peakRssBytes(raw.memory)),
    note: rawComplete ? 'read and discarded' : `FAILED: ${raw.error ?? `read ${raw.bytes} of ${sizeBytes} bytes`}`,
  });

  // 2. the offsite copier, from source (tsx) and as deployed (bundle)
  const copierJob: CopierJob = {
    url: source.url,
    sizeBytes,
    sha256: source.sha256,
    endpoint: store.endpoint,
    region: store.region,
    bucket: BUCKET,
    objectKey: COPIER_KEY,
  };
  const copierEnv: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: store.accessKeyId,
    AWS_SECRET_ACCESS_KEY: store.secretAccessKey,
    AWS_REGION: store.region,
  };
  delete copierEnv['AWS_PROFILE'];
  delete copierEnv['AWS_SESSION_TOKEN'];
  progress('offsite copier from source (tsx) into the local S3 store');
  // The copier runs with the copy function's NODE_OPTIONS, as it does in Lambda and in the CLI.
  const copierFromSource = tsLaunch('copier-run.ts');
  const copierLaunch = { ...copierFromSource, execArgv: [...COPY_NODE_OPTIONS.split(' '), ...copierFromSource.execArgv] };
  copiers.push(await measureCopier('offsite copier (tsx) -> S3', copierLaunch, copierJob, copierEnv, s3, source, stepTimeoutMs));
  rows.push(copiers[0]?.row ?? { name: 'offsite copier (tsx) -> S3', note: '?' });
  if (bundle.launch) {
    progress(`offsite copier as deployed (esbuild bundle, node ${COPY_NODE_OPTIONS}) into the local S3 store`);
    const measured = await measureCopier('offsite copier (bundle) -> S3', bundle.launch, copierJob, copierEnv, s3, source, stepTimeoutMs);
    copiers.push(measured);
    rows.push(measured.row);
  } else {
    rows.push({ name: 'offsite copier (bundle) -> S3', note: `skipped: ${bundle.reason ?? '?'}` });
  }

  // 3. rclone copyurl
  let rcloneRate: number | undefined;
  let rclonePeakMiB: number | undefined;
  if (!tools.rclone) {
    progress('rclone: not installed, skipped');
    rows.push({ name: 'rclone copyurl -> S3', note: 'rclone: not installed (apt-get install rclone) — skipped' });
  } else {
    progress('rclone copyurl into the local S3 store');
    const rclone = await runRclone(source.url, store, tools, workDir, stepTimeoutMs);
    let problems: string[] = rclone.ok ? [] : [rclone.error ?? 'failed'];
    if (rclone.ok) {
      progress("    verifying rclone's object (reading it back)");
      problems = await checkStoredObject(s3, RCLONE_KEY, source).catch((error: unknown) => [`could not verify: ${String(error)}`]);
    }
    await deleteQuietly(s3, [RCLONE_KEY]);
    rcloneRate = problems.length === 0 ? mib(sizeBytes) / (rclone.elapsedMs / 1000) : undefined;
    rclonePeakMiB = rclone.maxRssKiB === undefined ? undefined : rclone.maxRssKiB / 1024;
    rows.push({
      name: 'rclone copyurl -> S3',
      seconds: rclone.elapsedMs / 1000,
      ...(rcloneRate !== undefined ? { mibPerSecond: rcloneRate } : {}),
      ...(rclonePeakMiB !== undefined ? { peakRssMiB: rclonePeakMiB } : {}),
      note:
        (problems.length === 0 ? 'verified: size, read-back sha256' : `FAILED: ${problems.join('; ')}`) +
        (tools.gnuTime ? '; time and RSS of the whole rclone process' : '; peak RSS not measured (no GNU /usr/bin/time)'),
    });
  }
  s3.destroy();

  printColumns(
    ['peer', 'seconds', 'MiB/s', 'peak RSS MiB', 'notes'],
    rows.map((row) => [row.name, fixed(row.seconds, 2), fixed(row.mibPerSecond, 1), fixed(row.peakRssMiB, 1), row.note]),
  );
  console.log('');
  printColumns(
    ['ratios', 'MiB/s vs raw read', 'MiB/s vs rclone', 'peak RSS vs rclone'],
    copiers.map((copier) => [
      copier.name.replace(' -> S3', ''),
      ratio(copier.rate, rawRate),
      tools.rclone ? ratio(copier.rate, rcloneRate) : 'n/a',
      tools.rclone ? ratio(mib(copier.peakBytes), rclonePeakMiB) : 'n/a',
    ]),
  );
  if (!tools.rclone) console.log('(rclone not installed: no rclone ratios)');
  console.log('');
  console.log('copier memory (peak RSS = the larger of resourceUsage().maxRSS and the 100 ms memoryUsage() samples):');
  for (const copier of copiers) {
    const { memory } = copier;
    console.log(
      `  ${copier.name.replace(' -> S3', '')}: maxRSS ${mibText(memory.maxRssKiB * 1024)}, sampled peak ${mibText(memory.sampledPeakRssBytes)} ` +
        `(${memory.samples} samples), ${mibText(memory.baselineRssBytes)} before the copy; at the sampled peak: ` +
        `heap ${mibText(memory.atPeak.heapUsed)} used of ${mibText(memory.atPeak.heapTotal)}, ` +
        `external ${mibText(memory.atPeak.external)} (array buffers ${mibText(memory.atPeak.arrayBuffers)})`,
    );
  }
  console.log('');

  const failures: string[] = [];
  for (const copier of copiers) {
    if (copier.problems.length === 0) {
      console.log(`copy verification, ${copier.name}: PASS (${sizeBytes} bytes, manifest and read-back sha256 match, no multipart upload left open)`);
    } else {
      console.log(`copy verification, ${copier.name}: FAIL\n  ${copier.problems.join('\n  ')}`);
      failures.push(`${copier.name}: verification`);
    }
  }
  const checked = options.sizeMiB >= MEMORY_CHECK_MIN_MIB;
  // The bound is on the copy process as deployed (the copy Lambda runs the bundle). Run
  // from source, tsx's own loader adds 80-100 MiB before the copy starts, so that row is
  // reported, not gated; it is gated only when the bundle could not be built.
  const gated = copiers.find((copier) => copier.name.includes('(bundle)')) ?? copiers[0];
  for (const copier of copiers) {
    const figure = `peak RSS ${(copier.peakBytes / 1e6).toFixed(1)} MB (${mibText(copier.peakBytes)})`;
    if (checked && copier !== gated) {
      console.log(`memory, ${copier.name}: ${figure} — reported, not gated (includes the tsx loader)`);
    } else if (!checked) {
      console.log(`memory, ${copier.name}: NOT CHECKED — ${figure}; the < 200 MB criterion needs a copy of >= ${MEMORY_CHECK_MIN_MIB} MiB (this run: ${options.sizeMiB} MiB)`);
    } else if (copier.peakBytes < MEMORY_LIMIT_BYTES) {
      console.log(`memory, ${copier.name}: PASS — ${figure} < 200 MB for a ${options.sizeMiB} MiB copy`);
    } else {
      console.log(`memory, ${copier.name}: FAIL — ${figure} >= 200 MB for a ${options.sizeMiB} MiB copy`);
      failures.push(`${copier.name}: peak RSS`);
    }
  }
  if (checked && !bundle.launch) console.log('memory: only the tsx form was measured (the bundle could not be built)');
  if (incomplete) console.log('benchmark incomplete: the raw HTTP read failed, so the copier figures have no baseline');

  progress('stopping the source and the store, removing the temporary data');
  await cleanup();
  const verdict = failures.length > 0 ? `FAIL (${failures.join(', ')})` : incomplete ? 'INCOMPLETE' : checked ? 'PASS' : 'PASS (memory bound not checked below 1 GiB)';
  console.log(`result: ${verdict}; run took ${((performance.now() - runStarted) / 1000).toFixed(1)} s`);
  if (failures.length > 0) return 1;
  return incomplete ? 2 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`[bench] ${signal}: stopping child processes and removing temporary data`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
// Last resort if the process exits some other way: end what this run started, synchronously.
process.once('exit', () => {
  for (const child of children) signalChild(child, 'SIGKILL');
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

main().then(
  async (code) => {
    await cleanup();
    process.exitCode = code;
  },
  async (error: unknown) => {
    console.error(error instanceof SetupError ? `bench: ${error.message}` : error);
    await cleanup();
    process.exitCode = error instanceof SetupError ? 2 : 1;
  },
);
