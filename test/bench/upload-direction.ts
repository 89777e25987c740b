// The upload direction of `npm run bench`: an archived backup streamed from the archive
// (the local S3 store) to an appliance's backups/upload, as the ApplianceUploadBackup
// Lambda does it (functions/appliance/upload.ts), next to peers measured in the same run
// against the same object and the same receiver:
//   s3-read.ts          GetObject and discard: what the archive can deliver (upper bound)
//   upload-run.ts       uploadFromArchive as deployed: esbuild bundle, COPY_NODE_OPTIONS
//   upload-pipe.ts      GetObject body piped into node:http, no verification
//   rclone cat | curl   `curl -T - -X POST` with content-length, each under /usr/bin/time -v
// The receiver is appliance-sink.ts: it hashes what it gets and tells the orchestrator,
// so every peer's upload is checked on the receiving side (size and SHA-256).
//
// The object is put into the store first, streamed from the benchmark's HTTP source
// (one PutObject; its SHA-256 is checked against the source's on the way).
//
// Done criterion checked here: a 1 GiB upload keeps the upload process's peak RSS
// < 200 MB, for the upload path as deployed.
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { COPY_NODE_OPTIONS } from '../../functions/catalog';
import {
  UPLOAD_PATH,
  type ArchivedObject,
  type MemoryFigures,
  type RawReadResult,
  type S3ReadJob,
  type SinkJob,
  type SinkMessage,
  type SinkReady,
  type SinkUpload,
  type UploadJob,
  type UploadResult,
} from './bench-child';
import {
  BUCKET,
  MIB,
  deleteQuietly,
  firstMessage,
  forkNode,
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
  shellQuote,
  stopChild,
  storeEnv,
  tsLaunch,
  type BenchContext,
  type Bundle,
  type DirectionOutcome,
  type NodeLaunch,
  type Row,
} from './harness';
import type { VerifyRunJob, VerifyRunResult } from './verify-run';

const ARCHIVE_KEY = 'bench/archived-backup.bin';
const SINK_USERNAME = 'bench';
/** How long the sink's account of an upload may trail the uploader's own answer. */
const SINK_REPORT_WAIT_MS = 5000;

/** The three Node children of this direction, bundled as the Lambda is (or not, with the reason). */
export interface UploadBundles {
  readonly upload: Bundle;
  readonly pipe: Bundle;
  readonly read: Bundle;
}

/** The bundle, or the .ts file through tsx when it could not be built; both under the copy functions' NODE_OPTIONS. */
function launchOf(bundle: Bundle, file: string): { launch: NodeLaunch; form: 'bundle' | 'tsx' } {
  if (bundle.launch) return { launch: bundle.launch, form: 'bundle' };
  const fromSource = tsLaunch(file);
  return { launch: { ...fromSource, execArgv: [...COPY_NODE_OPTIONS.split(' '), ...fromSource.execArgv] }, form: 'tsx' };
}

// ---------------------------------------------------------------------------- the archived object

/** Streams the source's bytes into the store as one object, hashing them on the way; never more than a few chunks in memory. */
export async function seedArchive(context: BenchContext, objectKey = ARCHIVE_KEY): Promise<ArchivedObject> {
  const { source, s3, sizeBytes } = context;
  const response = await new Promise<IncomingMessage>((resolve, reject) => httpGet(source.url, resolve).once('error', reject));
  if (response.statusCode !== 200) {
    response.resume();
    throw new Error(`the HTTP source answered ${response.statusCode ?? '?'}`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  response.once('error', (error) => hashing.destroy(error));
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: response.pipe(hashing), ContentLength: sizeBytes, ContentType: 'application/octet-stream' }),
  );
  const sha256 = hash.digest('hex');
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: objectKey }));
  const problems: string[] = [];
  if (bytes !== sizeBytes) problems.push(`streamed ${bytes} bytes into the store, the source serves ${sizeBytes}`);
  if (sha256 !== source.sha256) problems.push(`streamed bytes hash to ${sha256}, the source's to ${source.sha256}`);
  if (head.ContentLength !== sizeBytes) problems.push(`the stored object is ${head.ContentLength ?? '?'} bytes, not ${sizeBytes}`);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return { objectKey, sizeBytes, sha256 };
}

// ---------------------------------------------------------------------------- the sink

/** The sink process and everything it has reported, in order. */
class Sink {
  readonly messages: SinkMessage[] = [];

  constructor(
    readonly baseUrl: string,
    readonly username: string,
    readonly password: string,
  ) {}

  get mark(): number {
    return this.messages.length;
  }

  /** The sink's reports since mark, once at least one upload report is in (or the wait is over). */
  async since(mark: number): Promise<SinkMessage[]> {
    const deadline = performance.now() + SINK_REPORT_WAIT_MS;
    while (!this.messages.slice(mark).some((message) => message.type === 'upload') && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.messages.slice(mark);
  }
}

async function startSink(): Promise<{ sink: Sink; child: ChildProcess }> {
  const password = randomBytes(12).toString('base64url');
  const child = forkNode(tsLaunch('appliance-sink.ts'));
  const ready = firstMessage<SinkReady>(child, 'appliance sink', 60_000);
  child.send({ username: SINK_USERNAME, password } satisfies SinkJob);
  const { baseUrl } = await ready;
  const sink = new Sink(baseUrl, SINK_USERNAME, password);
  child.on('message', (message: SinkMessage) => {
    if (message.type === 'upload' || message.type === 'delete') sink.messages.push(message);
  });
  return { sink, child };
}

/** Problems with what the sink received for one peer; empty when it got exactly the object, once, with the headers the appliance wants. */
function checkReceived(messages: readonly SinkMessage[], archive: ArchivedObject, backupId: string | undefined): string[] {
  const uploads = messages.filter((message): message is SinkUpload => message.type === 'upload');
  const deletes = messages.filter((message) => message.type === 'delete');
  if (uploads.length === 0) return ['the sink received no upload'];
  const problems: string[] = [];
  if (uploads.length > 1) problems.push(`the sink received ${uploads.length} upload requests, not one`);
  const last = uploads[uploads.length - 1] as SinkUpload;
  if (!last.authorized) problems.push('the sink refused the credentials (401)');
  if (last.error) problems.push(`sink: ${last.error}`);
  if (!last.complete) problems.push(`the body was cut short at ${last.bytes} bytes`);
  if (last.bytes !== archive.sizeBytes) problems.push(`the sink received ${last.bytes} bytes, the object has ${archive.sizeBytes}`);
  else if (last.sha256 !== archive.sha256) problems.push(`the sink received bytes hashing to ${last.sha256}, the object's is ${archive.sha256}`);
  if (last.contentLength !== String(archive.sizeBytes)) problems.push(`content-length ${last.contentLength ?? 'missing'}, expected ${archive.sizeBytes}`);
  if (last.transferEncoding !== undefined) problems.push(`transfer-encoding ${last.transferEncoding}`);
  if (backupId !== undefined && backupId !== last.id) problems.push(`the uploader reports backup ${backupId}, the sink answered ${last.id}`);
  if (deletes.length > 0) problems.push(`the uploader deleted ${deletes.map((message) => message.id).join(', ')} afterwards`);
  return problems;
}

// ---------------------------------------------------------------------------- measurements

interface UploadMeasurement {
  readonly name: string;
  readonly row: Row;
  readonly problems: readonly string[];
  readonly peakBytes?: number;
  readonly memory?: MemoryFigures;
  /** MiB/s, only for an upload the sink confirmed. */
  readonly rate?: number;
}

function measured(name: string, seconds: number, sizeBytes: number, problems: string[], verified: string, peakBytes: number | undefined, note = ''): UploadMeasurement {
  const rate = problems.length === 0 ? mib(sizeBytes) / seconds : undefined;
  return {
    name,
    problems,
    ...(peakBytes !== undefined ? { peakBytes } : {}),
    ...(rate !== undefined ? { rate } : {}),
    row: {
      name,
      seconds,
      ...(rate !== undefined ? { mibPerSecond: rate } : {}),
      ...(peakBytes !== undefined ? { peakRssMiB: mib(peakBytes) } : {}),
      note: (problems.length === 0 ? verified : `FAILED: ${problems.join('; ')}`) + note,
    },
  };
}

async function measureNodeUpload(name: string, launch: NodeLaunch, job: UploadJob, context: BenchContext, sink: Sink, verifiesItself: boolean): Promise<UploadMeasurement> {
  const mark = sink.mark;
  const result = await runChildJob<UploadResult>(launch, job, name, context.stepTimeoutMs, storeEnv(context.store));
  const problems: string[] = result.ok ? [] : [`upload failed: ${result.error ?? '?'}`];
  if (result.ok && result.uploadedBytes !== job.archive.sizeBytes) problems.push(`the uploader sent ${result.uploadedBytes ?? '?'} bytes`);
  if (result.ok && verifiesItself && result.sha256 !== job.archive.sha256) problems.push(`the uploader reports sha256 ${result.sha256 ?? '?'}`);
  problems.push(...checkReceived(await sink.since(mark), job.archive, result.backupId));
  const peakBytes = peakRssBytes(result.memory);
  const verified = verifiesItself
    ? 'sink got size + sha256; offsite checked both on the way'
    : 'sink got size + sha256 (no check in the peer itself)';
  return { ...measured(name, result.elapsedMs / 1000, context.sizeBytes, problems, verified, peakBytes), memory: result.memory };
}

async function measureRcloneCurl(name: string, archive: ArchivedObject, context: BenchContext, sink: Sink): Promise<UploadMeasurement> {
  const { tools, workDir, store } = context;
  const rcloneTime = join(workDir, 'rclone-cat.time.txt');
  const curlTime = join(workDir, 'curl.time.txt');
  const answerFile = join(workDir, 'curl-answer.json');
  // `env -u AWS_CA_BUNDLE`: rclone's AWS SDK fails on a CA bundle meant for other tools (docs/development.md).
  const rclone = ['env', '-u', 'AWS_CA_BUNDLE', 'rclone', 'cat', `:s3:${BUCKET}/${archive.objectKey}`, ...rcloneStoreArgs(store, workDir)];
  // `-T -` streams stdin; `--data-binary @-` would read all of it into memory before sending
  // (curl 7.88: 296 MiB RSS for a 300 MB body). The emptied Transfer-Encoding and the explicit
  // Content-Length make it one plain body with content-length, as the offsite client sends it.
  const curl = [
    'curl',
    '-sS',
    '--fail',
    '--noproxy',
    '*',
    '-T',
    '-',
    '-X',
    'POST',
    '-H',
    'Content-Type: application/octet-stream',
    '-H',
    `Content-Length: ${archive.sizeBytes}`,
    '-H',
    'Transfer-Encoding:',
    '-H',
    'Expect:',
    '-u',
    `${sink.username}:${sink.password}`,
    '-o',
    answerFile,
    new URL(UPLOAD_PATH, sink.baseUrl).href,
  ];
  const timed = (argv: readonly string[], file: string): string => (tools.gnuTime ? ['/usr/bin/time', '-v', '-o', file, ...argv] : argv).map(shellQuote).join(' ');
  const mark = sink.mark;
  const run = await runCommand(['bash', '-c', `set -o pipefail; ${timed(rclone, rcloneTime)} | ${timed(curl, curlTime)}`], workDir, context.stepTimeoutMs);
  const problems: string[] = run.ok ? [] : [run.error ?? 'failed'];
  let backupId: string | undefined;
  if (run.ok) {
    try {
      const answer = JSON.parse(readFileSync(answerFile, 'utf8')) as { id?: unknown };
      if (typeof answer.id === 'string') backupId = answer.id;
      else problems.push('the answer has no backup id');
    } catch (error) {
      problems.push(`unreadable answer: ${String(error)}`);
    }
  }
  problems.push(...checkReceived(await sink.since(mark), archive, backupId));
  const rcloneKiB = maxRssKiBFrom(rcloneTime);
  const curlKiB = maxRssKiBFrom(curlTime);
  // Both run at once for the whole transfer, so their peaks add up.
  if (rcloneKiB === undefined || curlKiB === undefined) {
    return measured(name, run.elapsedMs / 1000, context.sizeBytes, problems, 'sink got size + sha256', undefined, '; peak RSS not measured (no GNU /usr/bin/time)');
  }
  const memoryNote = `; RSS: rclone ${(rcloneKiB / 1024).toFixed(1)} + curl ${(curlKiB / 1024).toFixed(1)} MiB`;
  return measured(name, run.elapsedMs / 1000, context.sizeBytes, problems, 'sink got size + sha256', (rcloneKiB + curlKiB) * 1024, memoryNote);
}

// ---------------------------------------------------------------------------- the direction

export async function runUploadDirection(context: BenchContext, bundles: UploadBundles): Promise<DirectionOutcome> {
  const { sizeBytes, sizeMiB, tools } = context;
  const failures: string[] = [];
  let incomplete = false;

  progress(`putting the ${sizeMiB} MiB object into the local S3 store (streamed from the HTTP source)`);
  const seedStarted = performance.now();
  let archive: ArchivedObject;
  try {
    archive = await seedArchive(context);
  } catch (error) {
    console.log(`upload (archive → appliance): NOT MEASURED — could not put the object into the store: ${String(error)}`);
    await deleteQuietly(context.s3, [ARCHIVE_KEY]);
    return { failures: ['upload: seeding the archive object'], incomplete: true };
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  progress('starting the appliance sink');
  const { sink, child: sinkChild } = await startSink();
  const s3Read = launchOf(bundles.read, 's3-read.ts');
  const upload = launchOf(bundles.upload, 'upload-run.ts');
  const pipe = launchOf(bundles.pipe, 'upload-pipe.ts');

  console.log('upload (archive → appliance)');
  console.log(`archive: s3://${BUCKET}/${archive.objectKey}, ${sizeBytes} bytes, sha256 ${archive.sha256} (put in ${seedSeconds.toFixed(1)} s)`);
  console.log(`sink:    ${sink.baseUrl}${UPLOAD_PATH} (pid ${sinkChild.pid ?? '?'}), Basic auth; hashes and discards the body`);
  console.log(`node peers: ${upload.form === 'bundle' ? 'esbuild bundles' : 'from source through tsx (no esbuild)'} under node ${COPY_NODE_OPTIONS} (the upload Lambda's NODE_OPTIONS)`);
  const pipeline = tools.rclone && tools.curl && tools.bash ? `${tools.rclone} | ${tools.curl}` : undefined;
  if (!pipeline) console.log(`rclone | curl: skipped (${[tools.rclone ? '' : 'rclone', tools.curl ? '' : 'curl', tools.bash ? '' : 'bash'].filter(Boolean).join(', ')} not available)`);
  console.log('');

  const rows: Row[] = [];
  const uploads: UploadMeasurement[] = [];

  // 1. raw S3 read
  progress('raw S3 read (GetObject, discard)');
  const readJob: S3ReadJob = { endpoint: context.store.endpoint, region: context.store.region, bucket: BUCKET, objectKey: archive.objectKey };
  const raw = await runChildJob<RawReadResult>(s3Read.launch, readJob, 'raw S3 read', context.stepTimeoutMs, storeEnv(context.store));
  const { row: rawRow, rate: rawRate } = rawReadRow('raw S3 read (GetObject)', raw, sizeBytes);
  if (rawRate === undefined) incomplete = true;
  rows.push(rawRow);

  // 1b. offsite verify's re-read of the same object (SHA-256 over the stream), against that raw read
  progress('offsite verify: re-read through SHA-256');
  const verifyJob: VerifyRunJob = { ...readJob, sizeBytes, sha256: archive.sha256 };
  const verified = await runChildJob<VerifyRunResult>(tsLaunch('verify-run.ts'), verifyJob, 'verify re-read', context.stepTimeoutMs, storeEnv(context.store));
  const verifyRate = verified.ok && verified.elapsedMs > 0 ? sizeBytes / MIB / (verified.elapsedMs / 1000) : undefined;
  if (!verified.ok || verified.result !== 'ok') failures.push(`verify re-read: ${verified.error ?? verified.result}`);
  const verifyRow: Row = {
    name: 'offsite verify (tsx): GetObject + SHA-256',
    seconds: verified.elapsedMs / 1000,
    ...(verifyRate !== undefined ? { mibPerSecond: verifyRate } : {}),
    peakRssMiB: mib(peakRssBytes(verified.memory)),
    note: verified.ok
      ? `result ${verified.result}; ${verifyRate !== undefined ? (verifyRate / 1024).toFixed(2) : '?'} GiB/s, ${ratio(verifyRate, rawRate)} the raw S3 read`
      : `FAILED: ${verified.error ?? '?'}`,
  };

  // 2. offsite's upload path as deployed, 3. the plain Node pipe
  const job: UploadJob = {
    archiveAt: { endpoint: context.store.endpoint, region: context.store.region, bucket: BUCKET },
    archive,
    appliance: { baseUrl: sink.baseUrl, username: sink.username, password: sink.password },
    timeoutMs: 30_000,
  };
  const offsiteName = `offsite upload (${upload.form}) -> appliance`;
  progress(`${offsiteName}: uploadFromArchive, node ${COPY_NODE_OPTIONS}`);
  const offsite = await measureNodeUpload(offsiteName, upload.launch, job, context, sink, true);
  uploads.push(offsite);
  const pipeName = `node pipe (${pipe.form}) S3 -> http.request`;
  progress(`${pipeName}: no verification`);
  const nodePipe = await measureNodeUpload(pipeName, pipe.launch, job, context, sink, false);
  uploads.push(nodePipe);

  // 4. rclone cat | curl
  let rcloneCurl: UploadMeasurement | undefined;
  if (pipeline) {
    progress('rclone cat | curl -T - into the appliance sink');
    rcloneCurl = await measureRcloneCurl('rclone cat | curl -T -', archive, context, sink);
    uploads.push(rcloneCurl);
  }
  rows.push(...uploads.map((measurement) => measurement.row));
  if (!pipeline) rows.push({ name: 'rclone cat | curl -T -', note: 'skipped: rclone, curl and bash are all needed' });

  await stopChild(sinkChild);
  await deleteQuietly(context.s3, [ARCHIVE_KEY]);

  printRows(rows);
  console.log('');
  console.log('verify (re-hashing an archived copy from the store)');
  printRows([rawRow, verifyRow]);
  console.log(memoryLine('verify process', verified.memory, 're-read'));
  console.log('');
  printColumns(
    ['ratios', 'MiB/s vs raw S3 read', 'MiB/s vs node pipe', 'MiB/s vs rclone|curl', 'peak RSS vs node pipe', 'peak RSS vs rclone|curl'],
    [
      [
        offsite.name.replace(' -> appliance', ''),
        ratio(offsite.rate, rawRate),
        ratio(offsite.rate, nodePipe.rate),
        rcloneCurl ? ratio(offsite.rate, rcloneCurl.rate) : 'n/a',
        ratio(offsite.peakBytes, nodePipe.peakBytes),
        rcloneCurl ? ratio(offsite.peakBytes, rcloneCurl.peakBytes) : 'n/a',
      ],
    ],
  );
  console.log('');
  console.log('upload memory (peak RSS = the larger of resourceUsage().maxRSS and the 100 ms memoryUsage() samples):');
  for (const measurement of [offsite, nodePipe]) {
    if (measurement.memory) console.log(memoryLine(measurement.name.replace(' -> appliance', ''), measurement.memory, 'upload'));
  }
  console.log('');

  for (const measurement of uploads) {
    if (measurement.problems.length === 0) {
      console.log(`upload verification, ${measurement.name}: PASS (the sink received ${sizeBytes} bytes once, sha256 ${archive.sha256.slice(0, 16)}… matches)`);
    } else {
      console.log(`upload verification, ${measurement.name}: FAIL\n  ${measurement.problems.join('\n  ')}`);
      failures.push(`${measurement.name}: verification`);
    }
  }
  // The bound is on the upload Lambda's process; the peers are reported alongside.
  const gate = memoryGate(offsite.name, offsite.peakBytes ?? Number.POSITIVE_INFINITY, sizeMiB, true, 'an upload', '');
  console.log(gate.line);
  if (gate.failed) failures.push(`${offsite.name}: peak RSS`);
  if (upload.form === 'tsx') console.log('memory: the upload path ran from source through tsx (the bundle could not be built), so its figure includes the tsx loader');
  if (incomplete) console.log('upload benchmark incomplete: the raw S3 read failed, so the upload figures have no upper bound');
  return { failures, incomplete };
}
