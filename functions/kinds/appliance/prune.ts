import type { ArchiveListing } from '../../archive/listing';
import type { ApplianceBackup } from './client';
import { hasVerifiedCopy, isMadeByOffsite, isUploadedCopy } from './provenance';

export interface PrunePlan {
  /** Offsite-made backups that failed, and those beyond applianceKeep with a verified archive copy. */
  readonly delete: string[];
  /** Beyond applianceKeep, but kept: no verified archive copy (yet). */
  readonly keptWithoutArchiveCopy: string[];
  /** Not made by offsite: never deleted. */
  readonly notMadeByOffsite: string[];
}

/**
 * Keeps the newest `applianceKeep` backups offsite put on the appliance (made by it, or
 * uploaded by a restore from an archived copy); of the older ones, deletes only those with
 * a verified copy in the archive (manifest present, object of the recorded size, the same
 * backup by id, size and time, or an upload of it). Anything else is never touched.
 */
export function planPrune(backups: readonly ApplianceBackup[], archive: ArchiveListing, applianceKeep: number): PrunePlan {
  const ours = backups
    .filter((backup) => backup.status === 'completed' && (isMadeByOffsite(backup) || isUploadedCopy(backup, archive)))
    .sort((a, b) => (b.backup_time ?? 0) - (a.backup_time ?? 0));
  // backup_time has whole seconds: a backup as old as the newest one kept cannot be told
  // to be older, so it is kept too rather than risk deleting the newer of the two.
  const oldestKeptTime = applianceKeep > 0 ? ours[applianceKeep - 1]?.backup_time : undefined;
  const beyond = ours.slice(applianceKeep).filter((backup) => oldestKeptTime === undefined || backup.backup_time !== oldestKeptTime);
  // A failed backup offsite made holds a slot and nothing worth keeping.
  const failed = backups.filter((backup) => isMadeByOffsite(backup) && backup.status === 'failed').map((backup) => backup.id);
  return {
    delete: [...failed, ...beyond.filter((backup) => hasVerifiedCopy(backup, archive)).map((backup) => backup.id)],
    keptWithoutArchiveCopy: beyond.filter((backup) => !hasVerifiedCopy(backup, archive)).map((backup) => backup.id),
    notMadeByOffsite: backups.filter((backup) => !isMadeByOffsite(backup) && !isUploadedCopy(backup, archive)).map((backup) => backup.id),
  };
}
