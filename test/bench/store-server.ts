// Child process: the local S3-compatible store (bin/sandbox/local-s3.ts, s3rver) for the
// benchmark, kept out of the copier's process so that process's memory is the copier's.
import { startLocalS3 } from '../../bin/sandbox/local-s3';
import { describeError, receiveJob, reply, type StoreJob, type StoreReady } from './bench-child';

async function main(): Promise<void> {
  const job = await receiveJob<StoreJob>();
  const store = await startLocalS3({ directory: job.directory, host: '127.0.0.1', buckets: [job.bucket] });
  const ready: StoreReady = {
    type: 'ready',
    endpoint: store.endpoint,
    accessKeyId: store.accessKeyId,
    secretAccessKey: store.secretAccessKey,
    region: store.region,
  };
  await reply(ready);
  process.on('SIGTERM', () => {
    store.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((error: unknown) => {
  console.error(`S3 store: ${describeError(error)}`);
  process.exit(1);
});
