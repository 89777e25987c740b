import { z } from 'zod';
import { listArchivedCopies } from '../../../archive/listing';
import { archivePlaces, type ArchivePlace } from '../../../archive/places';
import { copyUrl, firstVerifiedCopy, type CopyInPlace } from '../../../archive/restore-source';
import { uploadFromArchive } from '../upload';
import { startPoll } from '../../../shared/poll';
import { InvalidInput } from '../../../shared/errors';
import { logger } from '../../../runtime/logger';
import { copyCancellationSignal, copyProgressListener } from '../../../runtime/progress';
import { lambdaHandler } from '../../../middleware/middleware';
import { applianceTarget, targetName } from './clients';

const archivedSource = z.object({
  objectKey: z.string().min(1),
  sizeBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  place: z.enum(['primary', 'secondary']).default('primary'),
});

/**
 * UploadBackup: streams the archived copy to backups/upload, checked against its manifest
 * on the way. With a secondary configured, the copy is first read back through SHA-256 in
 * its place, the primary's first, and the first that matches is uploaded. Verifying during
 * the upload and falling back on a mismatch would upload twice: the appliance would get a
 * cut-off body (maybe a failed backup in one of its few slots) before the good one, and
 * this step is never repeated for that reason. Reading first costs one more read of the
 * copy from the archive, and the appliance sees one upload, of bytes already checked; the
 * in-stream check stays, so bytes changed between the read and the upload still never
 * restore. Without a secondary there is nothing to fall back to: the in-stream check
 * alone, as before.
 */
export const handler = lambdaHandler(
  z.object({
    target: targetName,
    archive: archivedSource,
    fallback: archivedSource.nullable().default(null),
    placeReason: z.string().nullable().default(null),
  }),
  async (event) => {
    const { config, target, client } = await applianceTarget(event.target);
    const places = await archivePlaces(config);
    const placeOf = (name: ArchivePlace['name']): ArchivePlace => {
      const place = places.find((candidate) => candidate.name === name);
      if (!place) throw new InvalidInput(`The restore plan names the ${name} archive copy, but archive.${name} is not configured: resolve the restore again.`);
      return place;
    };
    const candidates: CopyInPlace[] = [event.archive, ...(event.fallback ? [event.fallback] : [])].map((source) => ({ ...source, place: placeOf(source.place) }));
    let chosen = candidates[0] as CopyInPlace;
    let reason = event.placeReason;
    if (places.length > 1) {
      const notHeld = places.filter((place) => !candidates.some((candidate) => candidate.place === place));
      const verified = await firstVerifiedCopy(candidates, event.placeReason, notHeld);
      chosen = verified.copy;
      reason = verified.reason;
      if (chosen.place.name !== 'primary') logger.warn('restoring from the secondary archive copy', { target: target.name, objectKey: chosen.objectKey, reason });
    }
    const primary = placeOf('primary');
    const listener = copyProgressListener();
    const archive = { objectKey: chosen.objectKey, sizeBytes: chosen.sizeBytes, sha256: chosen.sha256 };
    logger.info('uploading archived backup to the appliance', { target: target.name, place: chosen.place.name, ...archive });
    const uploaded = await uploadFromArchive({
      client,
      s3: chosen.place.s3,
      bucket: chosen.place.bucket,
      archive,
      signal: copyCancellationSignal() ?? new AbortController().signal,
      target,
      archiveListing: () => listArchivedCopies(primary.s3, primary.bucket, primary.prefix, target.name),
      ...(listener ? { onProgress: (progress) => listener({ ...progress, target: target.name, objectKey: chosen.objectKey }) } : {}),
    });
    logger.info('archived backup uploaded', { target: target.name, backupId: uploaded.backupId, bytes: uploaded.uploadedBytes });
    // Which place's copy went up, and why not the primary's: the restore's output says it.
    const source = places.length > 1 ? { source: { place: chosen.place.name, url: copyUrl(chosen), objectKey: chosen.objectKey, reason } } : {};
    return { ...uploaded, poll: startPoll(target.poll), ...source };
  },
);
