import { z } from 'zod';
import type { PreparedDownload } from '../../archive/prepared-download';
import type { ApplianceTarget } from './config';
import { VendorApiError } from '../../shared/errors';
import type { ApplianceClient } from './client';
import { summarize } from './backup-summary';

export const applianceCopySource = z.object({ backupId: z.string().min(1) });

/**
 * What to stream for one appliance backup. The backup is read again here so the size
 * the copy is checked against is the appliance's own, and the file is opened through the
 * client (its token and the target's CA), inside the copy function.
 */
export async function prepareApplianceDownload(
  client: ApplianceClient,
  target: ApplianceTarget,
  source: z.infer<typeof applianceCopySource>,
): Promise<PreparedDownload> {
  const backup = summarize(await client.getBackup(source.backupId));
  if (backup.status !== 'completed') {
    throw new VendorApiError(`Appliance backup ${source.backupId} is ${backup.status}, not completed: there is nothing to copy yet.`);
  }
  return {
    source: { where: new URL(target.baseUrl).origin, open: (signal) => client.downloadBackup(source.backupId, signal) },
    expected: { sizeBytes: backup.sizeBytes, checksum: null },
    // The document does not name the format; public sources say gzip (application/x-gzip).
    extension: '.tgz',
    describe: {
      target: target.name,
      kind: target.kind,
      sourceBackupId: backup.backupId,
      createdAt: backup.backupTime ?? new Date().toISOString(),
      source: {
        hostname: backup.hostname,
        model: backup.model,
        serial: backup.serial,
        sw_version: backup.swVersion,
        backup_time: backup.backupTime,
        description: backup.description,
        appliance: new URL(target.baseUrl).host,
      },
    },
  };
}
