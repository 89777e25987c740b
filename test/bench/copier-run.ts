// Child process: one offsite copy, exactly as the copy Lambda makes it (copyToArchive
// with the production defaults: 5 MiB parts, 4 in flight, the archive client for
// S3-compatible endpoints), from the benchmark's HTTP source into its local S3 store,
// with size and SHA-256 verification on. Nothing else runs in this process, so its
// peak RSS is the copier's.
import { copyToArchive } from '../../functions/archive/copier';
import { archiveClient } from '../../functions/runtime/archive-client';
import { describeError, receiveJob, reply, startRssSampler, type CopierJob, type CopierResult } from './bench-child';

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<CopierJob>();
  const s3 = archiveClient({ bucket: job.bucket, prefix: '', region: job.region, endpoint: job.endpoint, forcePathStyle: true });
  sampler.markBaseline();
  const started = performance.now();
  let result: CopierResult;
  try {
    const copied = await copyToArchive({
      source: { url: job.url },
      expected: { sizeBytes: job.sizeBytes, checksum: job.sha256 },
      s3,
      bucket: job.bucket,
      objectKey: job.objectKey,
      describe: {
        target: 'bench',
        kind: 'benchmark',
        sourceBackupId: `bench-${job.sizeBytes}`,
        createdAt: new Date().toISOString(),
        source: { generator: 'aes-256-ctr keystream' },
      },
    });
    const elapsedMs = performance.now() - started;
    result = {
      type: 'result',
      ok: true,
      elapsedMs,
      sizeBytes: copied.sizeBytes,
      sha256: copied.sha256,
      manifestKey: copied.manifestKey,
      sourceChecksumVerified: copied.sourceChecksumVerified,
      memory: sampler.stop(),
    };
  } catch (error) {
    result = { type: 'result', ok: false, error: describeError(error), elapsedMs: performance.now() - started, memory: sampler.stop() };
  }
  s3.destroy();
  await reply(result);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(`copier: ${describeError(error)}`);
  process.exit(1);
});
