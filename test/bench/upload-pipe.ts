// Child process: the plain Node peer of the upload direction. GetObject through the same
// archive client, its body piped straight into a node:http POST to the appliance sink
// with content-length and Basic auth; no size or SHA-256 check, no retry, no undici.
// What streaming S3 → HTTP costs in Node with nothing else on the way.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { archiveClient } from '../../functions/runtime/archive-client';
import { describeError, measureAndReply, receiveJob, startRssSampler, UPLOAD_PATH, type UploadJob, type UploadResult } from './bench-child';

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<UploadJob>();
  const { archiveAt, appliance } = job;
  const s3 = archiveClient({ region: archiveAt.region, endpoint: archiveAt.endpoint, forcePathStyle: true });
  await measureAndReply<UploadResult>(
    sampler,
    async () => {
      const answer = await s3.send(new GetObjectCommand({ Bucket: archiveAt.bucket, Key: job.archive.objectKey }));
      const body = answer.Body as Readable;
      let sent = 0;
      body.on('data', (chunk: Buffer) => {
        sent += chunk.length;
      });
      const post = httpRequest(new URL(UPLOAD_PATH, appliance.baseUrl), {
        method: 'POST',
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(answer.ContentLength ?? job.archive.sizeBytes),
          authorization: `Basic ${Buffer.from(`${appliance.username}:${appliance.password}`, 'utf8').toString('base64')}`,
        },
      });
      const response = new Promise<IncomingMessage>((resolve, reject) => {
        post.once('response', resolve);
        post.once('error', reject);
      });
      response.catch(() => undefined); // a failed request fails the pipeline below, which reports it
      await pipeline(body, post);
      const answered = await response;
      let text = '';
      for await (const chunk of answered) text += (chunk as Buffer).toString('utf8');
      if (answered.statusCode !== 201 && answered.statusCode !== 200) throw new Error(`HTTP ${answered.statusCode ?? '?'}: ${text.slice(0, 300)}`);
      const backup = JSON.parse(text) as { id?: unknown; status?: unknown };
      return {
        uploadedBytes: sent,
        ...(typeof backup.id === 'string' ? { backupId: backup.id } : {}),
        ...(typeof backup.status === 'string' ? { status: backup.status } : {}),
      };
    },
    () => s3.destroy(),
  );
}

main().catch((error: unknown) => {
  console.error(`node pipe: ${describeError(error)}`);
  process.exit(1);
});
