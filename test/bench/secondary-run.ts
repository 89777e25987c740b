// Child process: one second copy, exactly as the CopyToSecondary Lambda makes it
// (functions/archive/secondary-copy.ts copyToSecondary with the production defaults, the
// archive client of each store), from the benchmark's store into a second local store,
// SHA-256 and size checked against the primary manifest in the stream. It counts the
// requests each client sends, for the cost per GiB. Nothing else runs in this process, so
// its peak RSS is the copy's.
import type { S3Client } from '@aws-sdk/client-s3';
import { copyToSecondary } from '../../functions/archive/secondary-copy';
import { archiveClient } from '../../functions/runtime/archive-client';
import { describeError, measureAndReply, receiveJob, startRssSampler, type ArchiveLocation, type MemoryFigures, type CpuFigures } from './bench-child';

export interface SecondaryRunJob {
  readonly primary: ArchiveLocation & { readonly prefix: string };
  readonly secondary: ArchiveLocation & { readonly prefix: string };
  readonly objectKey: string;
}

export interface SecondaryRunResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly memory: MemoryFigures;
  readonly cpu?: CpuFigures;
  readonly objectKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Requests sent, by operation, to each store. */
  readonly requests: { readonly primary: Record<string, number>; readonly secondary: Record<string, number> };
}

function countRequests(s3: S3Client, counts: Record<string, number>): void {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName).replace(/Command$/, '');
      counts[operation] = (counts[operation] ?? 0) + 1;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchCountRequests', priority: 'low' },
  );
}

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<SecondaryRunJob>();
  const primary = archiveClient({ region: job.primary.region, endpoint: job.primary.endpoint, forcePathStyle: true });
  const secondary = archiveClient({ region: job.secondary.region, endpoint: job.secondary.endpoint, forcePathStyle: true });
  const requests = { primary: {}, secondary: {} };
  countRequests(primary, requests.primary);
  countRequests(secondary, requests.secondary);
  await measureAndReply<SecondaryRunResult>(
    sampler,
    async () => {
      const copied = await copyToSecondary({
        from: { s3: primary, bucket: job.primary.bucket, prefix: job.primary.prefix },
        to: { s3: secondary, bucket: job.secondary.bucket, prefix: job.secondary.prefix, objectLock: false },
        objectKey: job.objectKey,
        clock: () => new Date(),
      });
      return { objectKey: copied.objectKey, sizeBytes: copied.sizeBytes, sha256: copied.sha256, requests };
    },
    () => {
      primary.destroy();
      secondary.destroy();
    },
  );
}

main().catch((error: unknown) => {
  console.error(`secondary copy: ${describeError(error)}`);
  process.exit(1);
});
