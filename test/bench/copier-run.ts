// Child process: one offsite copy, exactly as the copy Lambda makes it (copyToArchive
// with the production defaults unless the job sweeps part size and parallelism, the
// archive client for S3-compatible endpoints), from the benchmark's HTTP source into its local S3 store,
// with size and SHA-256 verification on. Nothing else runs in this process, so its
// peak RSS is the copier's.
import { copyToArchive } from '../../functions/archive/copier';
import { archiveClient } from '../../functions/runtime/archive-client';
import { describeError, measureAndReply, receiveJob, startRssSampler, type CopierJob, type CopierResult } from './bench-child';

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<CopierJob>();
  const s3 = archiveClient({ region: job.region, endpoint: job.endpoint, forcePathStyle: true });
  await measureAndReply<CopierResult>(
    sampler,
    async () => {
      const copied = await copyToArchive({
        // The benchmark's source listens on loopback, like the sandbox's simulators.
        source: { url: job.url, hosts: { allowLoopback: true, allowPrivate: false } },
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
        ...(job.partSizeBytes ? { partSizeBytes: job.partSizeBytes } : {}),
        ...(job.queueSize ? { queueSize: job.queueSize } : {}),
        ...(job.checksumAlgorithm ? { checksumAlgorithm: job.checksumAlgorithm } : {}),
      });
      return { sizeBytes: copied.sizeBytes, sha256: copied.sha256, manifestKey: copied.manifestKey, sourceChecksumVerified: copied.sourceChecksumVerified };
    },
    () => s3.destroy(),
  );
}

main().catch((error: unknown) => {
  console.error(`copier: ${describeError(error)}`);
  process.exit(1);
});
