import { z } from 'zod';
import { findTargetOfKind } from '../config/load';
import type { OffsiteConfig } from '../config/schema';
import { lambdaHandler } from '../middleware/middleware';
import { systemClock } from '../shared/clock';
import type { TargetKind, TargetOfKind } from '../kinds/registry';
import { loadRuntimeConfig } from '../runtime/config-source';
import { logger } from '../runtime/logger';
import { MetricUnit, publishMetrics } from '../runtime/metrics';
import { copyCancellationSignal, copyProgressListener } from '../runtime/progress';
import { copyToArchive, type CopyProgress, type CopyResult } from './copier';
import { archiveKeyFor } from './manifest';
import { encryptionParams, primaryPlace } from './places';
import type { PreparedDownload } from './prepared-download';


/** How one kind turns the `source` reference in its state into a download (credentials and URLs resolved in the function). */
export type PrepareDownload<K extends TargetKind> = (target: TargetOfKind<K>, source: unknown) => Promise<PreparedDownload>;

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

export async function copyTargetBackup<K extends TargetKind>(config: OffsiteConfig, kind: K, targetName: string, source: unknown, prepare: PrepareDownload<K>): Promise<CopyResult> {
  const target = findTargetOfKind(config, targetName, kind);
  const prepared = await prepare(target, source);
  const objectKey = archiveKeyFor(config.archive.prefix, target.name, prepared.describe.createdAt, prepared.describe.sourceBackupId, prepared.extension);
  logger.info('copying backup to archive', { target: target.name, sourceBackupId: prepared.describe.sourceBackupId, objectKey });
  const started = Date.now();
  const primary = primaryPlace(config);
  const result = await copyToArchive({
    source: prepared.source,
    expected: prepared.expected,
    s3: primary.s3,
    bucket: primary.bucket,
    objectKey,
    describe: prepared.describe,
    clock: systemClock,
    onProgress: progressReporter(target.name, objectKey),
    signal: copyCancellationSignal(),
    ...(config.archive.objectLock ? { checksumAlgorithm: 'CRC32' as const } : {}),
    encryption: encryptionParams(primary),
  });
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  logger.info('backup archived and verified', { ...result, seconds });
  publishMetrics({ Kind: kind }, [
    { name: 'CopyBytes', unit: MetricUnit.Bytes, value: result.sizeBytes },
    { name: 'CopyThroughput', unit: MetricUnit.BytesPerSecond, value: result.sizeBytes / seconds },
  ]);
  return result;
}

/**
 * A kind's CopyToArchive handler: streams the vendor download into the archive bucket,
 * verifies it, writes the manifest last. Each kind deploys its own, so a copy function
 * holds only its own kind's secrets and network placement.
 */
export function copyToArchiveHandler<K extends TargetKind>(kind: K, prepare: PrepareDownload<K>) {
  return lambdaHandler(z.object({ target: z.string().min(1), source: z.unknown() }), async (event) =>
    copyTargetBackup(await loadRuntimeConfig(), kind, event.target, event.source, prepare),
  );
}
