import type { ArchiveListing, ArchivedCopy } from '../../archive/listing';
import { keyInPlace, type ArchivePlace, type PlaceName } from '../../archive/places';
import type { ApplianceTarget } from './config';
import { BackupNotFound, InvalidInput } from '../../shared/errors';
import { SoftwareVersionMismatch } from './errors';
import { summarize } from './backup-summary';
import type { ApplianceClient } from './client';
import { describeHeld, describesBackup, isUploadOf, manifestString } from './provenance';

export type RestoreSelection = { readonly backupId: string } | { readonly archiveKey: string } | { readonly latest: true };

export interface RestoreRequestInput {
  readonly backupId?: string | undefined;
  readonly archiveKey?: string | undefined;
  readonly latest?: boolean | undefined;
}

/** Exactly one of backupId, archiveKey or latest (backupId "latest" means latest, as on the command line). */
export function restoreSelection(input: RestoreRequestInput): RestoreSelection {
  const given = [input.backupId !== undefined, input.archiveKey !== undefined, input.latest !== undefined].filter(Boolean).length;
  if (given !== 1) {
    throw new InvalidInput('Give exactly one of "backupId" (an appliance backup id, or "latest"), "archiveKey" (an archive object key) or "latest": true.');
  }
  if (input.latest !== undefined) {
    if (input.latest !== true) throw new InvalidInput('"latest" must be true when given.');
    return { latest: true };
  }
  if (input.backupId !== undefined) return input.backupId === 'latest' ? { latest: true } : { backupId: input.backupId };
  return { archiveKey: input.archiveKey ?? '' };
}

export interface ArchivedSource {
  readonly objectKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Where the copy is; absent in a plan made before the archive had places: the primary. */
  readonly place?: PlaceName;
}

/** The archive's secondary and its listing of the target, for a restore that may fall back to it. */
export interface SecondaryListing {
  readonly primary: Pick<ArchivePlace, 'prefix'>;
  readonly secondary: Pick<ArchivePlace, 'prefix'>;
  readonly listing: ArchiveListing;
}

export interface RestorePlan {
  /** in-place: the appliance still holds the backup; upload: it is streamed back from the archive first. */
  readonly mode: 'in-place' | 'upload';
  readonly backup: {
    readonly backupId: string;
    readonly swVersion: string | null;
    readonly backupTime: string | null;
    readonly sizeBytes: number | null;
  };
  readonly archive: ArchivedSource | null;
  /**
   * The same backup's copy in the secondary when `archive` is the primary's: the upload
   * reads the primary copy through SHA-256 first and uses this one when it is missing or
   * differs. Null without a secondary, or when the secondary has no usable copy of it.
   */
  readonly archiveFallback: ArchivedSource | null;
  /** Why `archive` is the secondary's copy (the primary copy missing, or not what its manifest records); null otherwise. */
  readonly placeReason: string | null;
  readonly applianceVersion: string | null;
  /** match, mismatch-allowed (the input said allowVersionMismatch), or unknown (the appliance's version could not be read). */
  readonly versionCheck: 'match' | 'mismatch-allowed' | 'unknown';
}

function archivedSource(copy: ArchivedCopy, place: PlaceName): ArchivedSource {
  return { objectKey: copy.manifest.objectKey, sizeBytes: copy.manifest.sizeBytes, sha256: copy.manifest.sha256, place };
}

function usableCopies(archive: ArchiveListing): ArchivedCopy[] {
  return archive.copies.filter((copy) => copy.objectMatchesManifest);
}

/** One backup as the archive holds it: the copy to restore, its key in each place, and its secondary copy to fall back to. */
interface RestoreCandidate {
  readonly copy: ArchivedCopy;
  readonly place: PlaceName;
  readonly keys: ReadonlySet<string>;
  readonly fallback: ArchivedCopy | undefined;
  readonly placeReason: string | null;
}

/**
 * The backups a restore can choose from, newest first: every usable primary copy (with
 * the secondary's copy of it, if usable, to fall back to), and every usable secondary copy
 * whose primary copy is missing or does not match its manifest. Without a secondary: the
 * primary's usable copies, as before.
 */
function restoreCandidates(archive: ArchiveListing, secondary: SecondaryListing | undefined): RestoreCandidate[] {
  const primaryCopies = usableCopies(archive);
  if (!secondary) return primaryCopies.map((copy) => ({ copy, place: 'primary', keys: new Set([copy.manifest.objectKey]), fallback: undefined, placeReason: null }));
  const toPrimary = (key: string): string => keyInPlace(key, secondary.secondary, secondary.primary);
  const secondaryByPrimaryKey = new Map(usableCopies(secondary.listing).map((copy) => [toPrimary(copy.manifest.objectKey), copy]));
  const primaryByKey = new Map(archive.copies.map((copy) => [copy.manifest.objectKey, copy]));
  const candidates: RestoreCandidate[] = primaryCopies.map((copy) => {
    const fallback = secondaryByPrimaryKey.get(copy.manifest.objectKey);
    return { copy, place: 'primary', keys: new Set([copy.manifest.objectKey, ...(fallback ? [fallback.manifest.objectKey] : [])]), fallback, placeReason: null };
  });
  for (const [primaryKey, copy] of secondaryByPrimaryKey) {
    const inPrimary = primaryByKey.get(primaryKey);
    if (inPrimary?.objectMatchesManifest) continue;
    const placeReason = inPrimary
      ? `the primary copy ${primaryKey} is not what its manifest records (its object is missing or of another size)`
      : `the primary copy ${primaryKey} is missing`;
    candidates.push({ copy, place: 'secondary', keys: new Set([primaryKey, copy.manifest.objectKey]), fallback: undefined, placeReason });
  }
  // Newest first, as the listing orders each place.
  return candidates.sort((a, b) => Date.parse(b.copy.manifest.createdAt) - Date.parse(a.copy.manifest.createdAt));
}

/**
 * The software the appliance runs now, from Riverbed's common info resource (not in the
 * backup document). Nothing else says it reliably: a backup's sw_version is the software
 * of its day. Null when the appliance has no such resource: the restore then goes ahead,
 * and its output and log say the versions were not compared.
 */
async function currentSoftwareVersion(client: ApplianceClient): Promise<string | null> {
  const info = await client.deviceInfo();
  return info?.sw_version ?? null;
}

/**
 * Decides what will be restored and how, before anything is changed: in place when the
 * appliance still holds the backup (same id, completed, and the archived size when there
 * is a copy), otherwise from the archive by upload. Refuses a software mismatch unless allowed.
 */
export async function resolveRestore(
  client: ApplianceClient,
  target: ApplianceTarget,
  archive: ArchiveListing,
  selection: RestoreSelection,
  allowVersionMismatch: boolean,
  /** Set for a drill: the target whose copy is restored onto this (lab) appliance. */
  drilledTarget?: string,
  /** The archive's secondary, when one is configured: a copy the primary lacks is restored from it. */
  secondary?: SecondaryListing,
): Promise<RestorePlan> {
  const held = await client.listBackups();
  const candidates = restoreCandidates(archive, secondary);
  const copies = candidates.map((candidate) => candidate.copy);
  let chosen: RestoreCandidate | undefined;
  let wantedId: string;
  if ('archiveKey' in selection) {
    // The key `offsite list` shows for either place names the same backup.
    chosen = candidates.find((candidate) => candidate.keys.has(selection.archiveKey));
    if (!chosen) {
      throw new BackupNotFound(
        `No verified archive copy of "${target.name}" at ${selection.archiveKey}. Archived copies: ${copies.map((candidate) => candidate.manifest.objectKey).join(', ') || 'none'}.`,
      );
    }
    wantedId = chosen.copy.manifest.sourceBackupId;
  } else if ('latest' in selection) {
    chosen = candidates[0];
    if (!chosen) {
      throw new BackupNotFound(
        `No verified archive copy of "${target.name}" to restore as "latest". The appliance holds ${describeHeld(held)}; name one with backupId to restore it in place.`,
      );
    }
    wantedId = chosen.copy.manifest.sourceBackupId;
  } else {
    wantedId = selection.backupId;
    chosen = candidates.find((candidate) => candidate.copy.manifest.sourceBackupId === wantedId);
  }
  const copy = chosen?.copy;
  // An earlier upload is recognised by what the appliance read from its file; one that
  // would match two archived copies (two backups in one second, of one size) is neither's.
  const onAppliance =
    held.find(
      (backup) => backup.id === wantedId && backup.status === 'completed' && (copy === undefined || describesBackup(copy, backup)),
    ) ?? (copy ? held.find((backup) => isUploadOf(backup, copy) && !copies.some((other) => other !== copy && isUploadOf(backup, other))) : undefined);
  if (!onAppliance && !copy) {
    throw new BackupNotFound(
      `Backup ${wantedId} is neither on appliance "${target.name}" nor in the archive. The appliance holds ${describeHeld(held)}; ` +
        `the archive has ${copies.map((candidate) => candidate.manifest.sourceBackupId).join(', ') || 'no copies'}.`,
    );
  }
  const backupVersion = onAppliance?.sw_version ?? (copy ? manifestString(copy, 'sw_version') : null);
  const applianceVersion = await currentSoftwareVersion(client);
  let versionCheck: RestorePlan['versionCheck'] = 'unknown';
  if (applianceVersion !== null && backupVersion !== null) {
    if (applianceVersion === backupVersion) {
      versionCheck = 'match';
    } else if (allowVersionMismatch) {
      versionCheck = 'mismatch-allowed';
    } else {
      // The advice names only what the command that failed can do: a drill has no option to restore across versions.
      throw new SoftwareVersionMismatch(
        drilledTarget === undefined
          ? `Backup ${wantedId} was made on software ${backupVersion}; appliance "${target.name}" runs ${applianceVersion}. Nothing was changed. ` +
              'To restore it anyway, start the restore with "allowVersionMismatch": true (CLI: --allow-version-mismatch).'
          : `Backup ${wantedId} of "${drilledTarget}" was made on software ${backupVersion}; the drill destination "${target.name}" runs ${applianceVersion}. Nothing was changed. ` +
              `A drill restores only onto the backup's software: bring "${target.name}" to ${backupVersion}, or point ${drilledTarget}'s drill.to at an appliance that runs it.`,
      );
    }
  }
  return {
    mode: onAppliance ? 'in-place' : 'upload',
    backup: {
      // The id to restore: the appliance's own, which differs from the archived one for an earlier upload.
      backupId: onAppliance?.id ?? wantedId,
      swVersion: backupVersion,
      backupTime: onAppliance ? summarize(onAppliance).backupTime : (copy?.manifest.createdAt ?? null),
      sizeBytes: onAppliance?.size ?? copy?.manifest.sizeBytes ?? null,
    },
    archive: chosen ? archivedSource(chosen.copy, chosen.place) : null,
    archiveFallback: chosen?.fallback ? archivedSource(chosen.fallback, 'secondary') : null,
    placeReason: chosen?.placeReason ?? null,
    applianceVersion,
    versionCheck,
  };
}
