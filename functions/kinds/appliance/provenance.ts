// Who put a backup on the appliance (offsite, by its description or by a restore's upload),
// and which archived copy is the same backup: shared by the backup, prune and restore code.

import type { ArchiveListing, ArchivedCopy } from '../../archive/listing';
import { OFFSITE_DESCRIPTION_MARKER } from '../../shared/provenance';
import { backupTimeOf } from './backup-summary';
import type { ApplianceBackup } from './client';

/**
 * Every backup offsite creates carries the marker at the start of its description. Pruning
 * deletes only backups that carry it: a backup someone else made is never touched.
 */
export function isMadeByOffsite(backup: ApplianceBackup): boolean {
  return (backup.description ?? '').startsWith(OFFSITE_DESCRIPTION_MARKER);
}

/** Each backup with who put it there; with the archive, a copy a restore uploaded is named as offsite's too. */
export function describeHeld(backups: readonly ApplianceBackup[], archive?: ArchiveListing): string {
  if (backups.length === 0) return 'no backups';
  return backups
    .map((backup) => {
      const time = backupTimeOf(backup);
      const who = isMadeByOffsite(backup) ? 'made by offsite' : archive && isUploadedCopy(backup, archive) ? 'uploaded by offsite' : 'not made by offsite';
      return `${backup.id} (${who}${time ? `, ${time}` : ''})`;
    })
    .join(', ');
}

/** Same backup, not merely the same id: ids may be reused (replaced hardware, a factory reset). */
export function describesBackup(copy: ArchivedCopy, backup: ApplianceBackup): boolean {
  const backupTime = backupTimeOf(backup);
  return (
    copy.manifest.sourceBackupId === backup.id &&
    (backup.size === undefined || copy.manifest.sizeBytes === backup.size) &&
    (backupTime === null || manifestString(copy, 'backup_time') === null || manifestString(copy, 'backup_time') === backupTime)
  );
}

export function hasVerifiedCopy(backup: ApplianceBackup, archive: ArchiveListing): boolean {
  return archive.copies.some((copy) => copy.objectMatchesManifest && (describesBackup(copy, backup) || isUploadOf(backup, copy)));
}

/** A copy a restore uploaded: offsite put it there, and the archive holds the same backup. */
export function isUploadedCopy(backup: ApplianceBackup, archive: ArchiveListing): boolean {
  return !isMadeByOffsite(backup) && archive.copies.some((copy) => copy.objectMatchesManifest && isUploadOf(backup, copy));
}

/**
 * An upload gets a new id from the appliance, so a copy uploaded by an earlier restore is
 * recognised by what the appliance read from the file: the same backup_time, size,
 * software and device. Restoring it in place spares another upload and another of the
 * appliance's few backup slots.
 */
export function isUploadOf(backup: ApplianceBackup, copy: ArchivedCopy): boolean {
  const same = (value: string | undefined, field: string): boolean => value !== undefined && value === manifestString(copy, field);
  return (
    backup.status === 'completed' &&
    backup.size === copy.manifest.sizeBytes &&
    backupTimeOf(backup) !== null &&
    backupTimeOf(backup) === manifestString(copy, 'backup_time') &&
    same(backup.sw_version, 'sw_version') &&
    same(backup.serial, 'serial') &&
    same(backup.hostname, 'hostname')
  );
}

export function manifestString(copy: ArchivedCopy, field: string): string | null {
  const value = copy.manifest.source[field];
  return typeof value === 'string' ? value : null;
}
