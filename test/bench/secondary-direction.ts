// The second-copy row of `npm run bench` (--only secondary): an archived copy streamed from
// the benchmark's store into a second local store as CopyToSecondary makes it
// (secondary-run.ts, bundled as deployed), next to the raw S3 read of the same object
// (s3-read.ts): MiB/s, CPU s/GiB, peak RSS and the requests per GiB the copy sends to
// each store. What landed is read back and hashed here.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { localS3Client } from '../../bin/sandbox/local-s3';
import { archiveWriter } from '../../functions/archive/archive-writer';
import { manifestKeyFor, type Manifest } from '../../functions/archive/manifest';
import { COPY_NODE_OPTIONS } from '../../functions/catalog';
import type { RawReadResult, S3ReadJob, StoreJob, StoreReady } from './bench-child';
import {
  BUCKET,
  GIB,
  bundleEntry,
  cpuPerGiB,
  deleteQuietly,
  firstMessage,
  forkNode,
  memoryLine,
  mib,
  peakRssBytes,
  printRows,
  progress,
  ratio,
  rawReadRow,
  runChildJob,
  stopChild,
  storeEnv,
  tsLaunch,
  type BenchContext,
  type DirectionOutcome,
  type Row,
} from './harness';
import type { SecondaryRunJob, SecondaryRunResult } from './secondary-run';
import { seedArchive } from './upload-direction';

const PRIMARY_PREFIX = 'bench/';
const SOURCE_KEY = `${PRIMARY_PREFIX}secondary-source/2026-01-01T00-00-00Z_bench.bin`;
const SECONDARY_BUCKET = 'offsite-bench-secondary';
const SECONDARY_PREFIX = 'copies/';

function perGiB(count: number, sizeBytes: number): string {
  return (count / (sizeBytes / GIB)).toFixed(0);
}

export async function runSecondaryDirection(context: BenchContext): Promise<DirectionOutcome> {
  const { sizeBytes, sizeMiB } = context;
  progress(`putting the ${sizeMiB} MiB archived copy and its manifest into the primary store`);
  const archived = await seedArchive(context, SOURCE_KEY);
  const manifest: Manifest = {
    formatVersion: 1,
    target: 'secondary-source',
    kind: 'benchmark',
    sourceBackupId: 'bench',
    objectKey: SOURCE_KEY,
    sizeBytes: archived.sizeBytes,
    sha256: archived.sha256,
    sourceChecksum: null,
    sourceChecksumAlgorithm: null,
    sourceChecksumVerified: false,
    sourceSizeBytes: archived.sizeBytes,
    createdAt: '2026-01-01T00:00:00Z',
    copiedAt: new Date().toISOString(),
    contentType: 'application/octet-stream',
    source: {},
  };
  await archiveWriter(context.s3, BUCKET).putJson(manifestKeyFor(SOURCE_KEY), manifest);

  progress('starting the second local S3 store (the secondary)');
  const storeChild = forkNode(tsLaunch('store-server.ts'));
  const storeAnswer = firstMessage<StoreReady>(storeChild, 'secondary S3 store', 60_000);
  storeChild.send({ directory: join(context.workDir, 's3-secondary'), bucket: SECONDARY_BUCKET } satisfies StoreJob);
  const secondaryStore = await storeAnswer;
  const secondaryS3 = localS3Client(secondaryStore);

  progress('bundling the second copy as deployed (esbuild)');
  const bundle = await bundleEntry(context.workDir, 'secondary-run.ts', COPY_NODE_OPTIONS.split(' '));
  const launch = bundle.launch ?? { ...tsLaunch('secondary-run.ts'), execArgv: [...COPY_NODE_OPTIONS.split(' '), ...tsLaunch('secondary-run.ts').execArgv] };
  const form = bundle.launch ? 'bundle' : 'tsx';

  const failures: string[] = [];
  const readJob: S3ReadJob = { endpoint: context.store.endpoint, region: context.store.region, bucket: BUCKET, objectKey: SOURCE_KEY };
  progress('raw S3 read of the archived copy (GetObject, discard)');
  const raw = await runChildJob<RawReadResult>(tsLaunch('s3-read.ts'), readJob, 'raw S3 read', context.stepTimeoutMs, storeEnv(context.store));
  const { row: rawRow, rate: rawRate } = rawReadRow('raw S3 read (GetObject)', raw, sizeBytes);

  progress(`second copy (${form}): primary store -> secondary store`);
  const job: SecondaryRunJob = {
    primary: { endpoint: context.store.endpoint, region: context.store.region, bucket: BUCKET, prefix: PRIMARY_PREFIX },
    secondary: { endpoint: secondaryStore.endpoint, region: secondaryStore.region, bucket: SECONDARY_BUCKET, prefix: SECONDARY_PREFIX },
    objectKey: SOURCE_KEY,
  };
  const copied = await runChildJob<SecondaryRunResult>(launch, job, 'second copy', context.stepTimeoutMs, storeEnv(context.store));
  const rate = copied.ok && copied.elapsedMs > 0 ? mib(sizeBytes) / (copied.elapsedMs / 1000) : undefined;
  const cpuSecondsPerGiB = cpuPerGiB(copied.cpu, sizeBytes);

  // What landed: the bytes read back and hashed, the manifest beside them, no upload left open.
  if (!copied.ok) failures.push(`second copy failed: ${copied.error ?? '?'}`);
  else {
    const answer = await secondaryS3.send(new GetObjectCommand({ Bucket: SECONDARY_BUCKET, Key: copied.objectKey }));
    const hash = createHash('sha256');
    for await (const chunk of answer.Body as Readable) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== archived.sha256) failures.push('second copy: the bytes in the secondary do not hash to the primary sha256');
    const written = JSON.parse((await (await secondaryS3.send(new GetObjectCommand({ Bucket: SECONDARY_BUCKET, Key: manifestKeyFor(copied.objectKey) }))).Body?.transformToString('utf8')) ?? '{}') as { sha256?: string };
    if (written.sha256 !== archived.sha256) failures.push('second copy: the secondary manifest does not record the primary sha256');
    const open = await secondaryS3.send(new ListMultipartUploadsCommand({ Bucket: SECONDARY_BUCKET }));
    if ((open.Uploads ?? []).length > 0) failures.push('second copy: a multipart upload was left open');
  }
  const total = (counts: Record<string, number>): number => Object.values(counts).reduce((sum, count) => sum + count, 0);
  const requests = copied.requests ?? { primary: {}, secondary: {} };
  const row: Row = {
    name: `offsite second copy (${form}) S3 -> S3`,
    seconds: copied.elapsedMs / 1000,
    ...(rate !== undefined ? { mibPerSecond: rate } : {}),
    peakRssMiB: mib(peakRssBytes(copied.memory)),
    ...(cpuSecondsPerGiB !== undefined ? { cpuSecondsPerGiB } : {}),
    note: copied.ok
      ? `${ratio(rate, rawRate)} the raw read; requests per GiB: ${perGiB(total(requests.primary), sizeBytes)} to the primary, ${perGiB(total(requests.secondary), sizeBytes)} to the secondary`
      : `FAILED: ${copied.error ?? '?'}`,
  };

  await stopChild(storeChild);
  secondaryS3.destroy();
  await deleteQuietly(context.s3, [SOURCE_KEY, manifestKeyFor(SOURCE_KEY)]);

  console.log('second copy (archive → secondary archive, both local stores; verified against the primary manifest in the stream)');
  printRows([rawRow, row]);
  const describe = (counts: Record<string, number>): string => Object.entries(counts).map(([operation, count]) => `${operation} ${count}`).join(', ') || 'none';
  console.log(`requests for ${sizeMiB} MiB: primary ${describe(requests.primary)}; secondary ${describe(requests.secondary)}`);
  console.log(memoryLine('second copy process', copied.memory, 'copy'));
  console.log(`second copy verification: ${failures.length === 0 ? 'PASS (read back, manifest records the primary sha256, no multipart upload left open)' : `FAIL\n  ${failures.join('\n  ')}`}`);
  return { failures, incomplete: rawRate === undefined };
}
