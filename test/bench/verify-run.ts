// Child process: offsite verify's re-read of one archived copy (functions/archive/verify.ts
// checkCopy: GetObject streamed through SHA-256, size and digest compared with the
// manifest's), through the archive client the verify Lambda uses; its time and peak memory.
import { checkCopy } from '../../functions/archive/verify';
import { archiveClient } from '../../functions/runtime/archive-client';
import { measureAndReply, receiveJob, startRssSampler, type MemoryFigures, type S3ReadJob } from './bench-child';

export interface VerifyRunJob extends S3ReadJob {
  readonly sizeBytes: number;
  readonly sha256: string;
}
export interface VerifyRunResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly memory: MemoryFigures;
  readonly result: string;
  readonly bytes: number | null;
}

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<VerifyRunJob>();
  const s3 = archiveClient({ region: job.region, endpoint: job.endpoint, forcePathStyle: true });
  await measureAndReply<VerifyRunResult>(
    sampler,
    async () => {
      const check = await checkCopy(s3, job.bucket, { manifest: { objectKey: job.objectKey, sizeBytes: job.sizeBytes, sha256: job.sha256 } as Parameters<typeof checkCopy>[2]['manifest'] });
      return { result: check.result, bytes: check.actual.sizeBytes };
    },
    () => s3.destroy(),
  );
}

void main();
