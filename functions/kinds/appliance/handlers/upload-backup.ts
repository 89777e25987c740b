import { z } from 'zod';
import { listArchivedCopies } from '../../../archive/listing';
import { uploadFromArchive } from '../upload';
import { startPoll } from '../../../shared/poll';
import { archiveClient } from '../../../runtime/archive-client';
import { logger } from '../../../runtime/logger';
import { copyCancellationSignal, copyProgressListener } from '../../../runtime/progress';
import { lambdaHandler } from '../../../middleware/middleware';
import { applianceTarget, targetName } from './clients';

const archivedSource = z.object({ objectKey: z.string().min(1), sizeBytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** UploadBackup: streams the archived copy to backups/upload, checked against its manifest on the way. */
export const handler = lambdaHandler(z.object({ target: targetName, archive: archivedSource }), async (event) => {
  const { config, target, client } = await applianceTarget(event.target);
  const listener = copyProgressListener();
  logger.info('uploading archived backup to the appliance', { target: target.name, ...event.archive });
  const uploaded = await uploadFromArchive({
    client,
    s3: archiveClient(config.archive),
    bucket: config.archive.bucket,
    archive: event.archive,
    signal: copyCancellationSignal() ?? new AbortController().signal,
    target,
    archiveListing: () => listArchivedCopies(archiveClient(config.archive), config.archive.bucket, config.archive.prefix, target.name),
    ...(listener ? { onProgress: (progress) => listener({ ...progress, target: target.name, objectKey: event.archive.objectKey }) } : {}),
  });
  logger.info('archived backup uploaded', { target: target.name, backupId: uploaded.backupId, bytes: uploaded.uploadedBytes });
  return { ...uploaded, poll: startPoll(target.poll) };
});
