// Child process: the raw archive read rate, the upper bound of the upload direction.
// One GetObject of the archived object through the archive client the upload Lambda uses
// (functions/runtime/archive-client.ts), every chunk counted and thrown away.
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { archiveClient } from '../../functions/runtime/archive-client';
import { describeError, receiveJob, reply, startRssSampler, type RawReadResult, type S3ReadJob } from './bench-child';

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<S3ReadJob>();
  const s3 = archiveClient({ region: job.region, endpoint: job.endpoint, forcePathStyle: true });
  sampler.markBaseline();
  const started = performance.now();
  let bytes = 0;
  let error: string | undefined;
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: job.bucket, Key: job.objectKey }));
    for await (const chunk of answer.Body as Readable) bytes += (chunk as Buffer).length;
  } catch (caught) {
    error = describeError(caught);
  }
  const elapsedMs = performance.now() - started;
  const result: RawReadResult = { type: 'result', ok: error === undefined, ...(error ? { error } : {}), bytes, elapsedMs, memory: sampler.stop() };
  s3.destroy();
  await reply(result);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(`S3 read: ${describeError(error)}`);
  process.exit(1);
});
