import type { ArchiveListing, ArchivedCopy } from '../../archive/listing';
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
  readonly applianceVersion: string | null;
  /** match, mismatch-allowed (the input said allowVersionMismatch), or unknown (the appliance's version could not be read). */
  readonly versionCheck: 'match' | 'mismatch-allowed' | 'unknown';
}

function archivedSource(copy: ArchivedCopy): ArchivedSource {
  return { objectKey: copy.manifest.objectKey, sizeBytes: copy.manifest.sizeBytes, sha256: copy.manifest.sha256 };
}

function usableCopies(archive: ArchiveListing): ArchivedCopy[] {
  return archive.copies.filter((copy) => copy.objectMatchesManifest);
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
): Promise<RestorePlan> {
  const held = await client.listBackups();
  const copies = usableCopies(archive);
  let copy: ArchivedCopy | undefined;
  let wantedId: string;
  if ('archiveKey' in selection) {
    copy = copies.find((candidate) => candidate.manifest.objectKey === selection.archiveKey);
    if (!copy) {
      throw new BackupNotFound(
        `No verified archive copy of "${target.name}" at ${selection.archiveKey}. Archived copies: ${copies.map((candidate) => candidate.manifest.objectKey).join(', ') || 'none'}.`,
      );
    }
    wantedId = copy.manifest.sourceBackupId;
  } else if ('latest' in selection) {
    copy = copies[0];
    if (!copy) {
      throw new BackupNotFound(
        `No verified archive copy of "${target.name}" to restore as "latest". The appliance holds ${describeHeld(held)}; name one with backupId to restore it in place.`,
      );
    }
    wantedId = copy.manifest.sourceBackupId;
  } else {
    wantedId = selection.backupId;
    copy = copies.find((candidate) => candidate.manifest.sourceBackupId === wantedId);
  }
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
    archive: copy ? archivedSource(copy) : null,
    applianceVersion,
    versionCheck,
  };
}
