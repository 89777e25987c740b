// `npm run bench [-- --size-mib N]`: measures offsite's two streaming paths against the
// local S3-compatible store, each next to peers measured in the same run on the same data:
//
// download (vendor → archive): the streaming copier (functions/archive/copier.ts) moving a
// download from a local HTTP server into the store, next to the raw HTTP read rate (fetch
// and discard) and `rclone copyurl` (Debian package). This file.
//
// upload (archive → appliance): uploadFromArchive (functions/appliance/upload.ts) streaming
// an archived object from the store to an appliance's backups/upload (a local sink), next
// to a raw S3 read, a plain Node S3 → http.request pipe and `rclone cat | curl`.
// upload-direction.ts.
//
// verify: offsite verify's re-read (GetObject through SHA-256) of the upload direction's
// archived object, next to the raw S3 read of the same object. upload-direction.ts.
//
// audit and prune: one whole netbox-proxbox audit over 5,000 VMs (audit-direction.ts) and
// the retention plan over 10,000 copies next to sorting them (prune-direction.ts).
//
// Every party runs in its own process, so the copier's (uploader's) peak memory is its own:
//   source-server.ts  deterministic pseudo-random bytes over HTTP on 127.0.0.1 (GET only)
//   store-server.ts   bin/sandbox/local-s3.ts (s3rver) on 127.0.0.1, data in a temp dir
//   raw-read.ts       fetch + discard, one fresh process
//   copier-run.ts     copyToArchive with verification on, one fresh process per form:
//                     - from source through tsx (how the project runs TypeScript), and
//                     - as deployed: an esbuild bundle made like NodejsFunction's (minified,
//                       CJS, source maps) under plain node --enable-source-maps, so the
//                       figure is free of tsx's loader and has the Lambda's source maps
//   rclone            under /usr/bin/time -v for its peak RSS, when both are installed
//   appliance-sink.ts, s3-read.ts, upload-run.ts, upload-pipe.ts: the upload direction
// The orchestrator (this file) verifies what landed in the store itself: object size,
// manifest, and the SHA-256 of the stored bytes read back, against what was served; in
// the upload direction the sink reports the size and SHA-256 of what it received.
//
// Done criterion checked here, per direction: 1 GiB keeps the peak RSS of the process as
// deployed < 200 MB (the copy Lambda's bundle; the upload Lambda's bundle). The tsx form
// of the copier is reported alongside. A failed check makes the run exit non-zero.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { localS3Client } from '../../bin/sandbox/local-s3';
import { COPY_NODE_OPTIONS } from '../../functions/catalog';
import type { CopierJob, CopierResult, MemoryFigures, RawReadJob, RawReadResult, SourceJob, SourceReady, StoreJob, StoreReady } from './bench-child';
import {
  BUCKET,
  MEMORY_CHECK_MIN_MIB,
  MEMORY_LIMIT_BYTES,
  MIB,
  bundleEntry,
  checkTools,
  deleteQuietly,
  firstMessage,
  forkNode,
  killAllChildrenNow,
  maxRssKiBFrom,
  memoryGate,
  memoryLine,
  mib,
  peakRssBytes,
  printColumns,
  printRows,
  progress,
  ratio,
  rawReadRow,
  rcloneStoreArgs,
  runChildJob,
  runCommand,
  stopAllChildren,
  storeEnv,
  tsLaunch,
  type BenchContext,
  type Bundle,
  type DirectionOutcome,
  type NodeLaunch,
  type Row,
  type ToolCheck,
} from './harness';
import { runUploadDirection, type UploadBundles } from './upload-direction';
import { runAuditDirection } from './audit-direction';
import { runPruneDirection } from './prune-direction';
import { runFleetDirection } from './fleet-direction';

const DEFAULT_SIZE_MIB = 1024;
/** s3rver keeps every part until the upload completes, then writes the whole object: parts + object + slack. */
const DISK_FACTOR = 3;
const DISK_SLACK_BYTES = 256 * MIB;
const COPIER_KEY = 'bench/offsite-copier.bin';
const MANIFEST_KEY = `${COPIER_KEY}.manifest.json`;
const RCLONE_KEY = 'bench/rclone-copyurl.bin';
/** The copier's production defaults (copier.ts); rclone is given the same part size and concurrency. */
const PART_SIZE = '5Mi';
const PARTS_IN_FLIGHT = 4;

class SetupError extends Error {}

// ---------------------------------------------------------------------------- options

interface Options {
  readonly sizeMiB: number;
}

const USAGE = `usage: npm run bench [-- --size-mib N]
  --size-mib N   bytes to copy (download) and to upload, in MiB (default ${DEFAULT_SIZE_MIB};
                 env BENCH_SIZE_MIB). The ${MEMORY_LIMIT_BYTES / 1e6} MB peak-memory checks need N >= ${MEMORY_CHECK_MIN_MIB}.
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

// ---------------------------------------------------------------------------- rclone

interface RcloneRun {
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly maxRssKiB?: number;
}

async function runRclone(url: string, store: StoreReady, tools: ToolCheck, workDir: string, timeoutMs: number): Promise<RcloneRun> {
  const timeFile = join(workDir, 'rclone.time.txt');
  const rcloneArgs = ['copyurl', url, `:s3:${BUCKET}/${RCLONE_KEY}`, ...rcloneStoreArgs(store, workDir), '--s3-chunk-size', PART_SIZE, '--s3-upload-concurrency', String(PARTS_IN_FLIGHT)];
  // `env -u AWS_CA_BUNDLE`: rclone's AWS SDK fails on a CA bundle meant for other tools (DESIGN.md).
  const command = ['env', '-u', 'AWS_CA_BUNDLE', 'rclone', ...rcloneArgs];
  const run = await runCommand(tools.gnuTime ? ['/usr/bin/time', '-v', '-o', timeFile, ...command] : command, workDir, timeoutMs);
  const maxRssKiB = tools.gnuTime ? maxRssKiBFrom(timeFile) : undefined;
  return { ...run, ...(maxRssKiB ? { maxRssKiB } : {}) };
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

// ---------------------------------------------------------------------------- the download direction

async function runDownloadDirection(context: BenchContext, bundle: Bundle): Promise<DirectionOutcome> {
  const { source, store, s3, tools, workDir, sizeBytes, sizeMiB, stepTimeoutMs } = context;
  console.log('download (vendor → archive)');
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
  const { row: rawRow, rate: rawRate } = rawReadRow('raw HTTP read (node fetch)', raw, sizeBytes);
  if (rawRate === undefined) incomplete = true;
  rows.push(rawRow);

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
  const copierEnv = storeEnv(store);
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

  printRows(rows);
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
  for (const copier of copiers) console.log(memoryLine(copier.name.replace(' -> S3', ''), copier.memory, 'copy'));
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
  // The bound is on the copy process as deployed (the copy Lambda runs the bundle). Run
  // from source, tsx's own loader adds 80-100 MiB before the copy starts, so that row is
  // reported, not gated; it is gated only when the bundle could not be built.
  const gated = copiers.find((copier) => copier.name.includes('(bundle)')) ?? copiers[0];
  for (const copier of copiers) {
    const gate = memoryGate(copier.name, copier.peakBytes, sizeMiB, copier === gated, 'a copy', 'includes the tsx loader');
    console.log(gate.line);
    if (gate.failed) failures.push(`${copier.name}: peak RSS`);
  }
  if (sizeMiB >= MEMORY_CHECK_MIN_MIB && !bundle.launch) console.log('memory: only the tsx form was measured (the bundle could not be built)');
  if (incomplete) console.log('benchmark incomplete: the raw HTTP read failed, so the copier figures have no baseline');
  return { failures, incomplete };
}

// ---------------------------------------------------------------------------- main

let workDir: string | undefined;
let cleaningUp: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    await stopAllChildren();
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

  console.log(`offsite copy benchmark: ${options.sizeMiB} MiB (${sizeBytes} bytes) of deterministic pseudo-random data, both directions`);
  console.log(`host: ${cpus().length} CPU(s) shared by the source, the store, the sink and the peer being measured; Node ${process.version}`);

  // The children as deployed: bundled like NodejsFunction bundles the Lambdas, run with their NODE_OPTIONS.
  progress('bundling the copier and the upload path as deployed (esbuild)');
  const lambdaFlags = COPY_NODE_OPTIONS.split(' ');
  const copierBundle = await bundleEntry(workDir, 'copier-run.ts', lambdaFlags);
  const uploadBundles: UploadBundles = {
    upload: await bundleEntry(workDir, 'upload-run.ts', lambdaFlags),
    pipe: await bundleEntry(workDir, 'upload-pipe.ts', lambdaFlags),
    read: await bundleEntry(workDir, 's3-read.ts', lambdaFlags),
  };

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
  console.log('');

  const context: BenchContext = { sizeMiB: options.sizeMiB, sizeBytes, source, store, s3, tools, workDir, stepTimeoutMs };
  const download = await runDownloadDirection(context, copierBundle);
  console.log('');
  const upload = await runUploadDirection(context, uploadBundles);
  console.log('');
  const audit = await runAuditDirection(context);
  console.log('');
  const prune = await runPruneDirection(context);
  console.log('');
  const fleet = await runFleetDirection(context);
  s3.destroy();
  console.log('');

  progress('stopping the source, the store and the sink, removing the temporary data');
  await cleanup();
  const failures = [...download.failures, ...upload.failures, ...audit.failures, ...prune.failures, ...fleet.failures];
  const incomplete = download.incomplete || upload.incomplete;
  const checked = options.sizeMiB >= MEMORY_CHECK_MIN_MIB;
  const verdict = failures.length > 0 ? `FAIL (${failures.join(', ')})` : incomplete ? 'INCOMPLETE' : checked ? 'PASS' : 'PASS (memory bounds not checked below 1 GiB)';
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
  killAllChildrenNow();
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
