import { z } from 'zod';
import type { NetboxCloudTarget } from './config';
import { downloadHostPolicy } from '../../archive/download-guard';
import type { PreparedDownload } from '../../archive/prepared-download';
import { downloadUrlOf, type BackupSummary, type Clock } from './lifecycle';
import type { NetboxCloudClient } from './client';
import { backupSummary } from './state-schemas';
import { VendorApiError } from '../../shared/errors';

export const netboxCloudCopySource = z.object({
  retrievalId: z.string().min(1),
  backup: backupSummary,
});

/**
 * What to stream for one NetBox Cloud backup. The presigned URL is looked up here from
 * the retrieval id, inside the copy function, and goes no further than the download.
 */
export async function prepareNetboxCloudDownload(
  client: NetboxCloudClient,
  target: NetboxCloudTarget,
  source: z.infer<typeof netboxCloudCopySource>,
  clock: Clock,
): Promise<PreparedDownload> {
  const backup: BackupSummary = source.backup;
  const { url, retrieval } = await downloadUrlOf(client, source.retrievalId, clock);
  if (retrieval.backup_id !== backup.backupId) {
    throw new VendorApiError(`Retrieval ${source.retrievalId} is of backup ${retrieval.backup_id}, not ${backup.backupId}.`);
  }
  return {
    // The copier refuses the link (and any redirect) unless it is https to a public host.
    source: {
      url: absoluteDownloadUrl(url, target.baseUrl, source.retrievalId),
      hosts: downloadHostPolicy(target.baseUrl, target.allowPrivateDownloadHosts),
    },
    expected: { sizeBytes: backup.sizeBytes, checksum: backup.checksum },
    extension: '.backup',
    describe: {
      target: target.name,
      kind: target.kind,
      sourceBackupId: backup.backupId,
      createdAt: backup.createdAt,
      source: {
        instanceId: backup.instanceId,
        netboxVersion: backup.version,
        triggerType: backup.triggerType,
        retrievalId: source.retrievalId,
        orgId: target.orgId,
      },
    },
  };
}

/**
 * The document shows an absolute https URL; a relative one is resolved against the API.
 * An unusable value fails without being quoted: new URL() would put the whole signed URL
 * into its error, and from there into logs.
 */
function absoluteDownloadUrl(presignedUrl: string, baseUrl: string, retrievalId: string): string {
  try {
    const url = new URL(presignedUrl, baseUrl);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.toString();
  } catch {
    // Reported below, without the value.
  }
  throw new VendorApiError(`NetBox Cloud retrieval ${retrievalId} has a presigned_url that is not an http(s) URL.`);
}
