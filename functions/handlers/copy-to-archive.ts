import { z } from 'zod';
import { copyToArchive, type CopyProgress, type CopyResult } from '../archive/copier';
import { archiveKeyFor } from '../archive/manifest';
import type { PreparedDownload } from '../archive/prepared-download';
import { findTarget } from '../config/load';
import type { OffsiteConfig, TargetConfig } from '../config/schema';
import { netboxCloudCopySource, prepareNetboxCloudDownload } from '../kinds/netbox-cloud/download';
import { archiveClient } from '../runtime/archive-client';
import { loadRuntimeConfig } from '../runtime/config-source';
import { logger } from '../runtime/logger';
import { copyCancellationSignal, copyProgressListener } from '../runtime/progress';
import { lambdaHandler, parseEvent } from './middleware';
import { netboxCloudClientFor } from '../kinds/netbox-cloud/handlers/events';
import { applianceClientFor } from '../kinds/appliance/handlers/events';
import { applianceCopySource, prepareApplianceDownload } from '../kinds/appliance/download';

const clock = (): Date => new Date();

/** Each kind turns its own `source` reference into a download; credentials and URLs are resolved here. */
async function prepareDownload(target: TargetConfig, source: unknown): Promise<PreparedDownload> {
  switch (target.kind) {
    case 'netbox-cloud': {
      return prepareNetboxCloudDownload(await netboxCloudClientFor(target), target, parseEvent(netboxCloudCopySource, source), clock);
    }
    case 'appliance': {
      return prepareApplianceDownload(await applianceClientFor(target), target, parseEvent(applianceCopySource, source));
    }
  }
}

const LOG_EVERY_BYTES = 256 * 1024 * 1024;

function progressReporter(target: string, objectKey: string): (progress: CopyProgress) => void {
  const listener = copyProgressListener();
  if (listener) return (progress) => listener({ ...progress, target, objectKey });
  let nextLogAt = LOG_EVERY_BYTES;
  return (progress) => {
    if (progress.bytes < nextLogAt) return;
    nextLogAt += LOG_EVERY_BYTES;
    logger.info('copy progress', { objectKey, bytes: progress.bytes, totalBytes: progress.totalBytes, elapsedMs: progress.elapsedMs });
  };
}

export async function copyTargetBackup(config: OffsiteConfig, targetName: string, source: unknown): Promise<CopyResult> {
  const target = findTarget(config, targetName);
  const prepared = await prepareDownload(target, source);
  const objectKey = archiveKeyFor(config.archive.prefix, target.name, prepared.describe.createdAt, prepared.describe.sourceBackupId, prepared.extension);
  logger.info('copying backup to archive', { target: target.name, sourceBackupId: prepared.describe.sourceBackupId, objectKey });
  const result = await copyToArchive({
    source: prepared.source,
    expected: prepared.expected,
    s3: archiveClient(config.archive),
    bucket: config.archive.bucket,
    objectKey,
    describe: prepared.describe,
    clock,
    onProgress: progressReporter(target.name, objectKey),
    signal: copyCancellationSignal(),
  });
  logger.info('backup archived and verified', { ...result });
  return result;
}

/** CopyToArchive: streams the vendor download into the archive bucket, verifies it, writes the manifest last. */
export const handler = lambdaHandler(z.object({ target: z.string().min(1), source: z.unknown() }), async (event) =>
  copyTargetBackup(await loadRuntimeConfig(), event.target, event.source),
);
