// Child process: one upload of an archived backup to the appliance, exactly as the
// ApplianceUploadBackup Lambda (functions/handlers/appliance/upload-backup.ts) makes it:
// uploadFromArchive with the archive client and an ApplianceClient built as
// functions/handlers/appliance/events.ts builds it (Basic login, certificate
// verification on), reading the benchmark's archived object from the local S3 store
// and streaming it, size- and SHA-256-checked, to the benchmark's appliance sink.
// Nothing else runs in this process, so its peak RSS is the upload path's.
import { applianceAuthenticator } from '../../functions/kinds/appliance/auth';
import { ApplianceClient } from '../../functions/kinds/appliance/client';
import { applianceTransport } from '../../functions/kinds/appliance/transport';
import { uploadFromArchive } from '../../functions/kinds/appliance/upload';
import { archiveClient } from '../../functions/runtime/archive-client';
import { describeError, measureAndReply, receiveJob, startRssSampler, type UploadJob, type UploadResult } from './bench-child';

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<UploadJob>();
  const { archiveAt, appliance, timeoutMs } = job;
  const s3 = archiveClient({ region: archiveAt.region, endpoint: archiveAt.endpoint, forcePathStyle: true });
  const transport = applianceTransport({ verifyCertificate: true });
  const client = new ApplianceClient({
    baseUrl: appliance.baseUrl,
    auth: applianceAuthenticator({
      baseUrl: appliance.baseUrl,
      login: { method: 'basic', username: appliance.username, password: appliance.password },
      http: { fetch: transport.fetch, timeoutMs },
    }),
    transport,
    timeoutMs,
  });
  await measureAndReply<UploadResult>(
    sampler,
    async () => {
      const uploaded = await uploadFromArchive({ client, s3, bucket: archiveAt.bucket, archive: job.archive, signal: new AbortController().signal });
      return { uploadedBytes: uploaded.uploadedBytes, sha256: uploaded.sha256, backupId: uploaded.backupId, status: uploaded.status };
    },
    () => s3.destroy(),
  );
}

main().catch((error: unknown) => {
  console.error(`upload: ${describeError(error)}`);
  process.exit(1);
});
