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
// secondary: CopyToSecondary's S3 → S3 second copy of an archived object into a second local
// store, next to the raw S3 read of it, with the requests per GiB (secondary-direction.ts).
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
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { localS3Client } from '../../bin/sandbox/local-s3';
import { COPY_NODE_OPTIONS } from '../../functions/catalog';
import type { ChildProcess } from 'node:child_process';
import type {
  CopierJob,
  CopierResult,
  DiscardSinkMessage,
  DiscardSinkObject,
  DiscardSinkReady,
  MemoryFigures,
  RawReadJob,
  RawReadResult,
  SourceJob,
  SourceReady,
  StoreJob,
  StoreReady,
} from './bench-child';
import {
  BUCKET,
  GIB,
  MEMORY_CHECK_MIN_MIB,
  MEMORY_LIMIT_BYTES,
  MIB,
  bundleEntry,
  checkTools,
  cpuPerGiB,
  cpuSecondsFrom,
  deleteQuietly,
  firstMessage,
  fixed,
  forkNode,
  killAllChildrenNow,
  maxRssKiBFrom,
  median,
  medianBy,
  memoryGate,
  memoryLine,
  mib,
  peakRssBytes,
  printColumns,
  printRows,
  processCpuSeconds,
  progress,
  ratio,
  rawReadRow,
  rcloneStoreArgs,
  runChildJob,
  runCommand,
  stopAllChildren,
  stopChild,
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
import { runSecondaryDirection } from './secondary-direction';

const DEFAULT_SIZE_MIB = 1024;
/** s3rver keeps every part until the upload completes, then writes the whole object: parts + object + slack. */
const DISK_FACTOR = 3;
const DISK_SLACK_BYTES = 256 * MIB;
const COPIER_KEY = 'bench/offsite-copier.bin';
const MANIFEST_KEY = `${COPIER_KEY}.manifest.json`;
const RCLONE_KEY = 'bench/rclone-copyurl.bin';
/** The copier's production defaults (copier.ts); rclone is given the same part size and concurrency. */
const PART_SIZE = '8Mi';
const PARTS_IN_FLIGHT = 4;

class SetupError extends Error {}

// ---------------------------------------------------------------------------- options

const DIRECTIONS = ['download', 'upload', 'secondary', 'audit', 'prune', 'fleet'] as const;
type Direction = (typeof DIRECTIONS)[number];

interface Options {
  readonly sizeMiB: number;
  /** Run only these directions (default: all). */
  readonly only: readonly Direction[];
  /** Write a V8 CPU profile of the deployed copier's run into the store here. */
  readonly cpuProfileDir?: string;
  readonly sweep: boolean;
  /** Rounds of the deciding comparison, the deployed copier against rclone into the store. */
  readonly rounds: number;
}

/**
 * Five rounds: one pair of runs into the store swings by 10-20 % on these shared machines
 * (the store's disk, the host's other work: 0.91-1.25x in one afternoon's pairs), and the
 * median of five rounds that alternate which peer goes first holds much stiller than
 * one pair or three; each round adds about 30 s at 1 GiB.
 */
const DEFAULT_ROUNDS = 5;

const USAGE = `usage: npm run bench [-- --size-mib N] [--only DIRECTION[,DIRECTION]] [--rounds N] [--no-sweep] [--cpu-prof DIR]
  --size-mib N     bytes to copy (download) and to upload, in MiB (default ${DEFAULT_SIZE_MIB};
                   env BENCH_SIZE_MIB). The ${MEMORY_LIMIT_BYTES / 1e6} MB peak-memory checks need N >= ${MEMORY_CHECK_MIN_MIB}.
  --only D[,D]     run only these directions: ${DIRECTIONS.join(', ')} (default: all)
  --rounds N       rounds of the deployed copier against rclone into the store, alternating
                   which goes first; the speed target is judged on the median of the rounds'
                   ratios (default ${DEFAULT_ROUNDS}, 1 to 9)
  --no-sweep       skip the copier's part size / parallelism sweep (download direction)
  --cpu-prof DIR   write a V8 CPU profile (.cpuprofile) of the deployed copier's first copy
                   into the store to DIR; npx tsx test/bench/cpuprofile-top.ts FILE sums it up
  Temporary data goes under $TMPDIR (${tmpdir()}); it needs about ${DISK_FACTOR}x N MiB free.`;

function parseOptions(argv: readonly string[]): Options {
  let raw = process.env['BENCH_SIZE_MIB'];
  let only: Direction[] = [...DIRECTIONS];
  let cpuProfileDir: string | undefined;
  let sweep = true;
  let rawRounds: string | undefined;
  const valueOf = (arg: string, name: string, index: number): [string, number] =>
    arg === name ? [argv[index + 1] ?? '', index + 1] : [arg.slice(name.length + 1), index];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const flag = arg.split('=')[0];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (flag === '--size-mib') {
      [raw, i] = valueOf(arg, '--size-mib', i);
    } else if (flag === '--only') {
      let list: string;
      [list, i] = valueOf(arg, '--only', i);
      const names = list.split(',').filter((name) => name !== '');
      const unknown = names.filter((name) => !(DIRECTIONS as readonly string[]).includes(name));
      if (names.length === 0 || unknown.length > 0) throw new SetupError(`--only expects directions out of ${DIRECTIONS.join(', ')}, not "${list}"`);
      only = names as Direction[];
    } else if (flag === '--cpu-prof') {
      [cpuProfileDir, i] = valueOf(arg, '--cpu-prof', i);
      if (!cpuProfileDir) throw new SetupError('--cpu-prof expects a directory to write the profile to');
    } else if (flag === '--rounds') {
      [rawRounds, i] = valueOf(arg, '--rounds', i);
    } else if (arg === '--no-sweep') {
      sweep = false;
    } else {
      throw new SetupError(`unknown argument "${arg}"\n${USAGE}`);
    }
  }
  const sizeMiB = raw === undefined || raw === '' ? DEFAULT_SIZE_MIB : Number(raw);
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 64 * 1024) {
    throw new SetupError(`--size-mib must be a whole number of MiB between 1 and 65536, not "${raw ?? ''}"`);
  }
  const rounds = rawRounds === undefined ? DEFAULT_ROUNDS : Number(rawRounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new SetupError(`--rounds must be a whole number from 1 to 9, not "${rawRounds ?? ''}"`);
  return { sizeMiB, only, sweep, rounds, ...(cpuProfileDir ? { cpuProfileDir: resolve(cpuProfileDir) } : {}) };
}

// ---------------------------------------------------------------------------- rclone

interface RcloneRun {
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly maxRssKiB?: number;
  readonly cpuSeconds?: number;
}

/** `rclone copyurl` into an S3 endpoint (the store or the discard sink), with the copier's part size and parallelism. */
async function runRclone(url: string, endpoint: StoreReady, label: string, tools: ToolCheck, workDir: string, timeoutMs: number): Promise<RcloneRun> {
  const timeFile = join(workDir, `rclone-${label}.time.txt`);
  const rcloneArgs = ['copyurl', url, `:s3:${BUCKET}/${RCLONE_KEY}`, ...rcloneStoreArgs(endpoint, workDir), '--s3-chunk-size', PART_SIZE, '--s3-upload-concurrency', String(PARTS_IN_FLIGHT)];
  // `env -u AWS_CA_BUNDLE`: rclone's AWS SDK fails on a CA bundle meant for other tools (docs/development.md).
  const command = ['env', '-u', 'AWS_CA_BUNDLE', 'rclone', ...rcloneArgs];
  const run = await runCommand(tools.gnuTime ? ['/usr/bin/time', '-v', '-o', timeFile, ...command] : command, workDir, timeoutMs);
  const maxRssKiB = tools.gnuTime ? maxRssKiBFrom(timeFile) : undefined;
  const cpuSeconds = tools.gnuTime ? cpuSecondsFrom(timeFile) : undefined;
  return { ...run, ...(maxRssKiB ? { maxRssKiB } : {}), ...(cpuSeconds !== undefined ? { cpuSeconds } : {}) };
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

/** What the copier itself reports: size, SHA-256 and the vendor checksum check, against what was served. */
function checkCopierReport(result: CopierResult, source: SourceReady): string[] {
  const problems: string[] = [];
  if (result.sizeBytes !== source.sizeBytes) problems.push(`copier reported ${result.sizeBytes ?? '?'} bytes, served ${source.sizeBytes}`);
  if (result.sha256 !== source.sha256) problems.push(`copier reported sha256 ${result.sha256 ?? '?'}, served ${source.sha256}`);
  if (result.sourceChecksumVerified !== true) problems.push('copier did not verify the source checksum');
  return problems;
}

async function checkCopierOutcome(s3: S3Client, result: CopierResult, source: SourceReady): Promise<string[]> {
  const problems = checkCopierReport(result, source);
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

// ---------------------------------------------------------------------------- the discard sink

/** How long the sink's account of an upload may trail the uploader's own answer. */
const SINK_REPORT_WAIT_MS = 5000;

/** The discard S3 sink (s3-discard-sink.ts) and everything it has reported, in order. */
class DiscardSink {
  private readonly messages: DiscardSinkMessage[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly child: ChildProcess,
    readonly endpoint: StoreReady,
  ) {
    child.on('message', (message) => {
      this.messages.push(message as DiscardSinkMessage);
      for (const listener of this.listeners) listener();
    });
  }

  get mark(): number {
    return this.messages.length;
  }

  /** The sink's reports since mark, once there is one for every key (or the wait is over). */
  async reports(mark: number, keys: readonly string[]): Promise<DiscardSinkMessage[]> {
    const complete = (): boolean => keys.every((key) => this.messages.slice(mark).some((message) => message.key === key));
    if (!complete()) {
      await new Promise<void>((done) => {
        const finish = (): void => {
          clearTimeout(timer);
          this.listeners.delete(check);
          done();
        };
        const check = (): void => {
          if (complete()) finish();
        };
        const timer = setTimeout(finish, SINK_REPORT_WAIT_MS);
        this.listeners.add(check);
      });
    }
    return this.messages.slice(mark);
  }
}

async function startDiscardSink(store: StoreReady): Promise<DiscardSink> {
  const child = forkNode(tsLaunch('s3-discard-sink.ts'));
  const answer = firstMessage<DiscardSinkReady>(child, 'discard S3 sink', 60_000);
  child.send({});
  const ready = await answer;
  // The store's credentials and region: the sink checks no signature, the clients need some.
  return new DiscardSink(child, { ...store, endpoint: ready.endpoint });
}

/** Problems with what the sink received for `key` since mark: it must have completed exactly the served size, and aborted nothing. */
function checkSinkObject(reports: readonly DiscardSinkMessage[], key: string, sizeBytes: number | undefined): string[] {
  const problems: string[] = [];
  const object = reports.find((report): report is DiscardSinkObject => report.type === 'object' && report.key === key);
  if (!object) problems.push(`the sink completed no object ${key}`);
  else if (sizeBytes !== undefined && object.bytes !== sizeBytes) problems.push(`the sink received ${object.bytes} bytes for ${key}, served ${sizeBytes}`);
  if (reports.some((report) => report.type === 'abort')) problems.push('an upload into the sink was aborted');
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
  readonly cpuSecondsPerGiB?: number;
}

async function measureCopier(
  name: string,
  launch: NodeLaunch,
  job: CopierJob,
  env: NodeJS.ProcessEnv,
  verify: (result: CopierResult) => Promise<string[]>,
  verified: string,
  timeoutMs: number,
  storePid?: number,
): Promise<CopierMeasurement> {
  const storeBefore = processCpuSeconds(storePid);
  const result = await runChildJob<CopierResult>(launch, job, name, timeoutMs, env);
  const storeCpu = storeShare(storeBefore, processCpuSeconds(storePid), job.sizeBytes);
  let problems: string[];
  if (!result.ok) {
    problems = [`copy failed: ${result.error ?? '?'}`];
  } else {
    progress(`    verifying what ${name} stored`);
    problems = await verify(result).catch((error: unknown) => [`could not verify: ${String(error)}`]);
  }
  const seconds = result.elapsedMs / 1000;
  const rate = problems.length === 0 ? mib(job.sizeBytes) / seconds : undefined;
  const cpuSecondsPerGiB = cpuPerGiB(result.cpu, job.sizeBytes);
  const peakBytes = peakRssBytes(result.memory);
  return {
    name,
    problems,
    memory: result.memory,
    peakBytes,
    ...(rate !== undefined ? { rate } : {}),
    ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}),
    row: {
      name,
      seconds,
      ...(rate !== undefined ? { mibPerSecond: rate } : {}),
      ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}),
      peakRssMiB: mib(peakBytes),
      note: (problems.length === 0 ? verified : `FAILED: ${problems.join('; ')}`) + storeCpu,
    },
  };
}

/** The store's CPU seconds per GiB over one copy into it, as a note ('' when not measured). */
function storeShare(before: number | undefined, after: number | undefined, sizeBytes: number): string {
  return before === undefined || after === undefined ? '' : `; the store used ${((after - before) / (sizeBytes / GIB)).toFixed(2)} CPU s/GiB`;
}

interface RcloneMeasurement {
  readonly row: Row;
  readonly rate?: number;
  readonly peakMiB?: number;
  readonly cpuSecondsPerGiB?: number;
}

async function measureRclone(
  name: string,
  endpoint: StoreReady,
  context: BenchContext,
  verify: () => Promise<string[]>,
  verified: string,
): Promise<RcloneMeasurement> {
  const { source, tools, workDir, sizeBytes, stepTimeoutMs } = context;
  const storePid = endpoint === context.store ? context.storePid : undefined;
  const storeBefore = processCpuSeconds(storePid);
  const run = await runRclone(source.url, endpoint, name.replace(/\W+/g, '-'), tools, workDir, stepTimeoutMs);
  const storeCpu = storeShare(storeBefore, processCpuSeconds(storePid), sizeBytes);
  let problems: string[] = run.ok ? [] : [run.error ?? 'failed'];
  if (run.ok) {
    progress(`    verifying what ${name} stored`);
    problems = await verify().catch((error: unknown) => [`could not verify: ${String(error)}`]);
  }
  const rate = problems.length === 0 ? mib(sizeBytes) / (run.elapsedMs / 1000) : undefined;
  const peakMiB = run.maxRssKiB === undefined ? undefined : run.maxRssKiB / 1024;
  const cpuSecondsPerGiB = run.cpuSeconds === undefined ? undefined : run.cpuSeconds / (sizeBytes / GIB);
  return {
    ...(rate !== undefined ? { rate } : {}),
    ...(peakMiB !== undefined ? { peakMiB } : {}),
    ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}),
    row: {
      name,
      seconds: run.elapsedMs / 1000,
      ...(rate !== undefined ? { mibPerSecond: rate } : {}),
      ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}),
      ...(peakMiB !== undefined ? { peakRssMiB: peakMiB } : {}),
      note:
        (problems.length === 0 ? verified : `FAILED: ${problems.join('; ')}`) +
        (tools.gnuTime ? '; time, CPU and RSS of the whole rclone process' : '; CPU and peak RSS not measured (no GNU /usr/bin/time)') +
        storeCpu,
    },
  };
}

// ---------------------------------------------------------------------------- rounds into the store

interface StoreRound {
  readonly copier?: CopierMeasurement;
  readonly rclone?: RcloneMeasurement;
}

/**
 * The deployed copier and rclone into the store, `rounds` times, alternating which goes
 * first so that neither always meets the store fresh or after the other: the two runs of
 * one round, back to back, see nearly the same machine, where runs minutes apart on a
 * shared host do not (see DEFAULT_ROUNDS).
 */
async function runStoreRounds(
  rounds: number,
  copier: ((round: number) => Promise<CopierMeasurement>) | undefined,
  rclone: ((round: number) => Promise<RcloneMeasurement>) | undefined,
): Promise<StoreRound[]> {
  const measured: StoreRound[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    const rcloneFirst = round % 2 === 0;
    const rcloneBefore = rcloneFirst ? await rclone?.(round) : undefined;
    const copierRun = await copier?.(round);
    const rcloneRun = rcloneFirst ? rcloneBefore : await rclone?.(round);
    measured.push({ ...(copierRun ? { copier: copierRun } : {}), ...(rcloneRun ? { rclone: rcloneRun } : {}) });
  }
  return measured;
}

/** Each round's copier rate over rclone's, for the rounds where both were verified. */
function roundRatios(rounds: readonly StoreRound[]): number[] {
  return rounds.flatMap((round) => (round.copier?.rate !== undefined && round.rclone?.rate !== undefined ? [round.copier.rate / round.rclone.rate] : []));
}

/** The median run by rate as the row (marked as such), with every round's problems and the highest peak RSS of any round. */
function medianCopier(runs: readonly CopierMeasurement[]): CopierMeasurement | undefined {
  const middle = medianBy(runs, (run) => run.rate ?? -1);
  if (!middle || runs.length === 1) return middle;
  const problems = runs.flatMap((run, index) => run.problems.map((problem) => `round ${index + 1}: ${problem}`));
  const highest = runs.reduce((top, run) => (run.peakBytes > top.peakBytes ? run : top), middle);
  const rate = problems.length === 0 ? middle.rate : undefined;
  const cpuSecondsPerGiB = median(runs.flatMap((run) => (run.cpuSecondsPerGiB === undefined ? [] : [run.cpuSecondsPerGiB])));
  const note = problems.length === 0 ? `median of ${runs.length} rounds; ${middle.row.note}` : `FAILED: ${problems.join('; ')}`;
  const { mibPerSecond: _dropped, ...row } = middle.row;
  return {
    ...middle,
    problems,
    memory: highest.memory,
    peakBytes: highest.peakBytes,
    rate,
    ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}),
    row: { ...row, ...(rate !== undefined ? { mibPerSecond: rate } : {}), ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}), peakRssMiB: mib(highest.peakBytes), note },
  };
}

/** The median rclone run by rate as the row, with the median CPU and the highest peak RSS of its rounds. */
function medianRclone(runs: readonly RcloneMeasurement[]): RcloneMeasurement | undefined {
  const middle = medianBy(runs, (run) => run.rate ?? -1);
  if (!middle || runs.length === 1) return middle;
  const failed = runs.some((run) => run.rate === undefined);
  const cpuSecondsPerGiB = median(runs.flatMap((run) => (run.cpuSecondsPerGiB === undefined ? [] : [run.cpuSecondsPerGiB])));
  const peaks = runs.flatMap((run) => (run.peakMiB === undefined ? [] : [run.peakMiB]));
  const peakMiB = peaks.length > 0 ? Math.max(...peaks) : undefined;
  const notes = failed ? runs.flatMap((run, index) => (run.rate === undefined ? [`round ${index + 1}: ${run.row.note}`] : [])).join('; ') : `median of ${runs.length} rounds; ${middle.row.note}`;
  const { mibPerSecond: _dropped, ...row } = middle.row;
  return {
    ...(failed || middle.rate === undefined ? {} : { rate: middle.rate }),
    ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}),
    ...(peakMiB !== undefined ? { peakMiB } : {}),
    row: {
      ...row,
      ...(failed || middle.rate === undefined ? {} : { mibPerSecond: middle.rate }),
      ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}),
      ...(peakMiB !== undefined ? { peakRssMiB: peakMiB } : {}),
      note: notes,
    },
  };
}

// ---------------------------------------------------------------------------- the part size and parallelism sweep

/**
 * The copier's part size and parts in flight, measured into the discard sink (the
 * pipeline's own cost, not the store's): CPU per GiB falls as parts grow (fewer
 * requests), peak RSS grows with size × (in flight + the one being filled). The chosen
 * defaults are in copier.ts (partSizeFor, PARTS_IN_FLIGHT) with the figures.
 */
const SWEEP: readonly { readonly partMiB: number; readonly inFlight: number }[] = [
  { partMiB: 5, inFlight: 2 },
  { partMiB: 5, inFlight: 4 },
  { partMiB: 5, inFlight: 8 },
  { partMiB: 8, inFlight: 4 },
  { partMiB: 16, inFlight: 2 },
];

async function runSweep(context: BenchContext, launch: NodeLaunch, baseJob: CopierJob, sink: DiscardSink): Promise<void> {
  const { source, stepTimeoutMs } = context;
  console.log('');
  console.log('copier (bundle) -> discard S3 sink, by part size and parts in flight:');
  const lines: string[][] = [];
  for (const { partMiB, inFlight } of SWEEP) {
    const name = `${partMiB} MiB x ${inFlight}`;
    progress(`sweep: copier (bundle) -> discard sink, ${name}`);
    const mark = sink.mark;
    const measured = await measureCopier(
      `sweep ${name}`,
      launch,
      { ...baseJob, endpoint: sink.endpoint.endpoint, partSizeBytes: partMiB * MIB, queueSize: inFlight },
      storeEnv(sink.endpoint),
      async (result) => [...checkCopierReport(result, source), ...checkSinkObject(await sink.reports(mark, [COPIER_KEY, MANIFEST_KEY]), COPIER_KEY, source.sizeBytes)],
      'verified',
      stepTimeoutMs,
    );
    lines.push([name, fixed(measured.rate, 1), fixed(measured.cpuSecondsPerGiB, 2), fixed(mib(measured.peakBytes), 1), measured.problems.length === 0 ? '' : `FAILED: ${measured.problems.join('; ')}`]);
  }
  printColumns(['part size x in flight', 'MiB/s', 'CPU s/GiB', 'peak RSS MiB', 'notes'], lines);
}

// ---------------------------------------------------------------------------- the download direction

async function runDownloadDirection(context: BenchContext, bundle: Bundle, options: Options): Promise<DirectionOutcome> {
  const { store, tools } = context;
  console.log('download (vendor → archive)');
  if (tools.rclone) {
    console.log(`rclone: ${tools.rclone}${tools.gnuTime ? ', CPU time and peak RSS from /usr/bin/time -v' : '; /usr/bin/time -v not available: its CPU time and peak RSS are not measured'}`);
    console.log(`copier and rclone both upload ${PART_SIZE}B parts, ${PARTS_IN_FLIGHT} in flight (the copier's production defaults)`);
  } else {
    console.log('rclone: not installed (apt-get install rclone) — skipped');
    console.log(`copier uploads ${PART_SIZE}B parts, ${PARTS_IN_FLIGHT} in flight (its production defaults)`);
  }
  console.log('CPU s/GiB: user + system CPU seconds of the copying process per GiB copied');
  console.log('');

  progress('starting the discard S3 sink');
  const sink = await startDiscardSink(store);
  try {
    return await measureDownload(context, bundle, options, sink);
  } finally {
    await stopChild(sink.child);
  }
}

async function measureDownload(context: BenchContext, bundle: Bundle, options: Options, sink: DiscardSink): Promise<DirectionOutcome> {
  const { source, store, s3, tools, sizeBytes, sizeMiB, stepTimeoutMs } = context;
  const rows: Row[] = [];
  const copiers: CopierMeasurement[] = [];
  let incomplete = false;

  // 1. raw HTTP read
  progress('raw HTTP read (fetch, discard)');
  const raw = await runChildJob<RawReadResult>(tsLaunch('raw-read.ts'), { url: source.url } satisfies RawReadJob, 'raw HTTP read', stepTimeoutMs);
  const { row: rawRow, rate: rawRate } = rawReadRow('raw HTTP read (node fetch)', raw, sizeBytes);
  if (rawRate === undefined) incomplete = true;
  rows.push(rawRow);

  // 2. the offsite copier from source (tsx) into the store, once
  const copierJob: CopierJob = {
    url: source.url,
    sizeBytes,
    sha256: source.sha256,
    endpoint: store.endpoint,
    region: store.region,
    bucket: BUCKET,
    objectKey: COPIER_KEY,
  };
  const intoStore = async (result: CopierResult): Promise<string[]> => {
    try {
      return await checkCopierOutcome(s3, result, source);
    } finally {
      await deleteQuietly(s3, [COPIER_KEY, MANIFEST_KEY]);
    }
  };
  const storeVerified = 'verified: size, manifest, read-back sha256';
  progress('offsite copier from source (tsx) into the local S3 store');
  // The copier runs with the copy function's NODE_OPTIONS, as it does in Lambda and in the CLI.
  const copierFromSource = tsLaunch('copier-run.ts');
  const copierLaunch = { ...copierFromSource, execArgv: [...COPY_NODE_OPTIONS.split(' '), ...copierFromSource.execArgv] };
  copiers.push(await measureCopier('offsite copier (tsx) -> S3', copierLaunch, copierJob, storeEnv(store), intoStore, storeVerified, stepTimeoutMs, context.storePid));
  if (!bundle.launch) rows.push({ name: 'offsite copier (bundle) -> S3', note: `skipped: ${bundle.reason ?? '?'}` });
  if (!tools.rclone) rows.push({ name: 'rclone copyurl -> S3', note: 'rclone: not installed (apt-get install rclone) — skipped' });

  // 3. the deciding comparison: the copier as deployed (bundle) and rclone copyurl into the store, in rounds
  const deployedLaunch = bundle.launch;
  const measureDeployed = deployedLaunch
    ? (round: number): Promise<CopierMeasurement> => {
        progress(`round ${round}: offsite copier as deployed (esbuild bundle, node ${COPY_NODE_OPTIONS}) into the local S3 store`);
        const profile = options.cpuProfileDir && round === 1 ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
        const launch = { ...deployedLaunch, execArgv: [...deployedLaunch.execArgv, ...profile] };
        return measureCopier('offsite copier (bundle) -> S3', launch, copierJob, storeEnv(store), intoStore, storeVerified, stepTimeoutMs, context.storePid);
      }
    : undefined;
  const measureRcloneIntoStore = tools.rclone
    ? (round: number): Promise<RcloneMeasurement> => {
        progress(`round ${round}: rclone copyurl into the local S3 store`);
        const verify = async (): Promise<string[]> => {
          try {
            return await checkStoredObject(s3, RCLONE_KEY, source);
          } finally {
            await deleteQuietly(s3, [RCLONE_KEY]);
          }
        };
        return measureRclone('rclone copyurl -> S3', store, context, verify, 'verified: size, read-back sha256');
      }
    : undefined;
  const rounds = await runStoreRounds(options.rounds, measureDeployed, measureRcloneIntoStore);
  const deployed = medianCopier(rounds.flatMap((round) => (round.copier ? [round.copier] : [])));
  const rcloneIntoStore = medianRclone(rounds.flatMap((round) => (round.rclone ? [round.rclone] : [])));
  if (deployed) copiers.push(deployed);
  if (rcloneIntoStore) rows.push(rcloneIntoStore.row);
  if (options.cpuProfileDir) console.log(`CPU profile of the deployed copier's first round into the store: ${options.cpuProfileDir}`);

  // 4. the deployed copier and rclone into the discard sink, once each
  let deployedIntoSink: CopierMeasurement | undefined;
  if (deployedLaunch) {
    const intoSink = (job: CopierJob, name: string, note: string): Promise<CopierMeasurement> => {
      progress(`offsite copier as deployed into the discard S3 sink${note}`);
      const mark = sink.mark;
      const verify = async (result: CopierResult): Promise<string[]> => [
        ...checkCopierReport(result, source),
        ...checkSinkObject(await sink.reports(mark, [COPIER_KEY, MANIFEST_KEY]), COPIER_KEY, sizeBytes),
      ];
      return measureCopier(name, deployedLaunch, { ...job, endpoint: sink.endpoint.endpoint }, storeEnv(sink.endpoint), verify, 'verified: sha256, size, sink got every byte', stepTimeoutMs);
    };
    deployedIntoSink = await intoSink(copierJob, 'offsite copier (bundle) -> discard', '');
    copiers.push(deployedIntoSink);
    copiers.push(await intoSink({ ...copierJob, checksumAlgorithm: 'CRC32' }, 'offsite copier (bundle, CRC32) -> discard', ', with a CRC32 per part (Object Lock)'));
  }
  rows.splice(1, 0, ...copiers.map((copier) => copier.row));
  let rcloneIntoSink: RcloneMeasurement | undefined;
  if (tools.rclone) {
    progress('rclone copyurl into the discard S3 sink');
    const mark = sink.mark;
    rcloneIntoSink = await measureRclone('rclone copyurl -> discard', sink.endpoint, context, async () => checkSinkObject(await sink.reports(mark, [RCLONE_KEY]), RCLONE_KEY, sizeBytes), 'sink got every byte');
    rows.push(rcloneIntoSink.row);
  }
  printRows(rows);
  console.log('');
  const peerOf = (copier: CopierMeasurement): RcloneMeasurement | undefined => (copier.name.endsWith('-> S3') ? rcloneIntoStore : rcloneIntoSink);
  printColumns(
    ['ratios (rclone into the same endpoint)', 'MiB/s vs raw read', 'MiB/s vs rclone', 'CPU/GiB vs rclone', 'peak RSS vs rclone'],
    copiers.map((copier) => {
      const peer = peerOf(copier);
      return [copier.name, ratio(copier.rate, rawRate), ratio(copier.rate, peer?.rate), ratio(copier.cpuSecondsPerGiB, peer?.cpuSecondsPerGiB), ratio(mib(copier.peakBytes), peer?.peakMiB)];
    }),
  );
  if (!tools.rclone) console.log('(rclone not installed: no rclone ratios)');
  console.log('');
  console.log('copier memory (peak RSS = the larger of resourceUsage().maxRSS and the 100 ms memoryUsage() samples):');
  for (const copier of copiers) console.log(memoryLine(copier.name, copier.memory, 'copy'));
  console.log('');

  const failures: string[] = [];
  for (const copier of copiers) {
    if (copier.problems.length === 0) {
      console.log(`copy verification, ${copier.name}: PASS (${sizeBytes} bytes${copier.name.endsWith('-> S3') ? ', manifest and read-back sha256 match, no multipart upload left open' : ', sha256 in the stream, every byte in the sink'})`);
    } else {
      console.log(`copy verification, ${copier.name}: FAIL\n  ${copier.problems.join('\n  ')}`);
      failures.push(`${copier.name}: verification`);
    }
  }
  // The bound is on the copy process as deployed (the copy Lambda runs the bundle). Run
  // from source, tsx's own loader adds 80-100 MiB before the copy starts, so that row is
  // reported, not gated; it is gated only when the bundle could not be built.
  const gated = deployed ?? copiers[0];
  for (const copier of copiers) {
    const gate = memoryGate(copier.name, copier.peakBytes, sizeMiB, copier === gated, 'a copy', copier.name.includes('(tsx)') ? 'includes the tsx loader' : 'the gate is on the copy into the store');
    console.log(gate.line);
    if (gate.failed) failures.push(`${copier.name}: peak RSS`);
  }
  if (sizeMiB >= MEMORY_CHECK_MIN_MIB && !bundle.launch) console.log('memory: only the tsx form was measured (the bundle could not be built)');
  // The speed targets of the copier (reported, not gated: the machine is shared, so one
  // noisy run should not fail the bench; the memory bound above is the gate).
  console.log('');
  const target = (label: string, met: boolean | undefined, figures: string): void =>
    console.log(`target, ${label}: ${met === undefined ? 'n/a' : met ? 'MET' : 'MISSED'} (${figures})`);
  const ratios = roundRatios(rounds);
  const medianRatio = ratios.length === rounds.length ? median(ratios) : undefined;
  const roundFigures = rounds.length > 1 && ratios.length > 0 ? `; rounds: ${ratios.map((value) => `${value.toFixed(2)}x`).join(', ')}` : '';
  target(
    'deployed copier >= 1.1x rclone copyurl into the store',
    medianRatio === undefined ? undefined : medianRatio >= 1.1,
    `${medianRatio === undefined ? 'n/a' : `${medianRatio.toFixed(2)}x`}${rounds.length > 1 ? ', the median of the rounds' : ''}${roundFigures}`,
  );
  target(
    "deployed copier's CPU s/GiB <= rclone's into the store",
    deployed?.cpuSecondsPerGiB !== undefined && rcloneIntoStore?.cpuSecondsPerGiB !== undefined ? deployed.cpuSecondsPerGiB <= rcloneIntoStore.cpuSecondsPerGiB : undefined,
    `${fixed(deployed?.cpuSecondsPerGiB, 2)} vs ${fixed(rcloneIntoStore?.cpuSecondsPerGiB, 2)}`,
  );
  target('deployed copier into the discard sink >= 0.5x the raw HTTP read', deployedIntoSink?.rate !== undefined && rawRate !== undefined ? deployedIntoSink.rate >= 0.5 * rawRate : undefined, ratio(deployedIntoSink?.rate, rawRate));
  if (incomplete) console.log('benchmark incomplete: the raw HTTP read failed, so the copier figures have no baseline');

  if (options.sweep && bundle.launch) await runSweep(context, bundle.launch, copierJob, sink);
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

  const context: BenchContext = { sizeMiB: options.sizeMiB, sizeBytes, source, store, ...(storeChild.pid ? { storePid: storeChild.pid } : {}), s3, tools, workDir, stepTimeoutMs };
  const outcomes: DirectionOutcome[] = [];
  const runs: Record<Direction, () => Promise<DirectionOutcome>> = {
    download: () => runDownloadDirection(context, copierBundle, options),
    upload: () => runUploadDirection(context, uploadBundles),
    secondary: () => runSecondaryDirection(context),
    audit: () => runAuditDirection(context),
    prune: () => runPruneDirection(context),
    fleet: () => runFleetDirection(context),
  };
  for (const direction of DIRECTIONS) {
    if (!options.only.includes(direction)) continue;
    outcomes.push(await runs[direction]());
    console.log('');
  }
  s3.destroy();

  progress('stopping the source, the store and the sink, removing the temporary data');
  await cleanup();
  const failures = outcomes.flatMap((outcome) => outcome.failures);
  const incomplete = outcomes.some((outcome) => outcome.incomplete);
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
