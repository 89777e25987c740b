import type { ArchiveListing, ArchivedCopy } from '../../archive/catalog';
import type { ApplianceTarget, PollPolicy } from '../../config/schema';
import {
  ApplianceBackupFailed,
  ApplianceStorageFull,
  BackupNotFound,
  CopyVerificationFailed,
  InvalidInput,
  RebootWindowExceeded,
  RestoreFailed,
  RestoreInProgress,
  SoftwareVersionMismatch,
  TransientApiError,
  VendorApiError,
  errorMessage,
} from '../../shared/errors';
import { advancePoll, startPoll, type PollState } from '../../shared/poll';
import type { ApplianceBackup, ApplianceClient, CreatedBackup, RestoreStatus } from './client';

export type Clock = () => Date;

/**
 * Every backup offsite creates carries this at the start of its description. Pruning
 * deletes only backups that carry it: a backup someone else made is never touched.
 */
export const OFFSITE_DESCRIPTION_MARKER = 'Made by offsite';

export function offsiteDescription(targetName: string, executionName: string): string {
  return `${OFFSITE_DESCRIPTION_MARKER} (target ${targetName}, execution ${executionName})`;
}

export function isMadeByOffsite(backup: ApplianceBackup): boolean {
  return (backup.description ?? '').startsWith(OFFSITE_DESCRIPTION_MARKER);
}

/** What the state machine carries about one appliance backup (no secrets, JSON only). */
export interface BackupSummary {
  readonly backupId: string;
  readonly status: string;
  readonly statusMessage: string | null;
  readonly sizeBytes: number | null;
  /** ISO time of backup_time; null until the appliance reports it. */
  readonly backupTime: string | null;
  readonly hostname: string | null;
  readonly model: string | null;
  readonly serial: string | null;
  readonly swVersion: string | null;
  readonly description: string | null;
}

/** backup_time (epoch seconds) as ISO time; null when the appliance gives none (or 0). */
function backupTimeOf(backup: ApplianceBackup): string | null {
  return backup.backup_time !== undefined && backup.backup_time > 0 ? new Date(backup.backup_time * 1000).toISOString() : null;
}

export function summarize(backup: ApplianceBackup): BackupSummary {
  return {
    backupId: backup.id,
    status: backup.status ?? 'unknown',
    statusMessage: backup.status_message || null,
    sizeBytes: backup.size ?? null,
    backupTime: backupTimeOf(backup),
    hostname: backup.hostname ?? null,
    model: backup.model ?? null,
    serial: backup.serial ?? null,
    swVersion: backup.sw_version ?? null,
    description: backup.description ?? null,
  };
}

/** Each backup with who put it there; with the archive, a copy a restore uploaded is named as offsite's too. */
function describeHeld(backups: readonly ApplianceBackup[], archive?: ArchiveListing): string {
  if (backups.length === 0) return 'no backups';
  return backups
    .map((backup) => {
      const time = backupTimeOf(backup);
      const who = isMadeByOffsite(backup) ? 'made by offsite' : archive && isUploadedCopy(backup, archive) ? 'uploaded by offsite' : 'not made by offsite';
      return `${backup.id} (${who}${time ? `, ${time}` : ''})`;
    })
    .join(', ');
}

/** The usual capacity of these appliances (DESIGN.md: "only a couple of backups on disk at once"). */
const TYPICAL_BACKUP_SLOTS = 2;

// ---------------------------------------------------------------------------------
// Backup
// ---------------------------------------------------------------------------------

export interface BackupInProgress extends BackupSummary {
  readonly poll: PollState;
  /** What offsite had to do to get this backup made (room freed on a full disk, a lost answer settled); carried to the end of the run. */
  readonly notes: readonly string[];
}

/**
 * POST backups, with a description that says offsite made it.
 *
 * A full disk is the normal state of an appliance that keeps two backups: one kept by its
 * operator plus the one offsite kept after the last run. So when the appliance refuses
 * for lack of space and holds a backup offsite put there that already has a verified
 * archive copy, that backup (the oldest such) is deleted and the create tried once more.
 * Only when there is none does the run fail, listing what the appliance holds.
 */
export async function createBackup(
  client: ApplianceClient,
  target: ApplianceTarget,
  executionName: string,
  readArchive: () => Promise<ArchiveListing>,
): Promise<BackupInProgress> {
  const description = offsiteDescription(target.name, executionName);
  const notes: string[] = [];
  for (let attempt = 0; ; attempt += 1) {
    try {
      const created = await postBackup(client, description);
      return { ...summarize(created.backup), poll: startPoll(target.poll), notes: [...notes, ...created.notes] };
    } catch (error) {
      const held = await storageRefusal(client, error);
      if (held === undefined) throw error;
      const freed = attempt === 0 ? await freeOneSlot(client, held, await readArchive()) : undefined;
      if (freed !== undefined) {
        notes.push(freed);
        continue;
      }
      throw new ApplianceStorageFull(storageFullMessage(target, `refused a new backup; its backup storage ${error instanceof ApplianceStorageFull ? 'is full' : 'is probably full'} (${errorMessage(error)})`, held));
    }
  }
}

/**
 * The fix for a full appliance, in words, with what it holds and who made each. Shared
 * by the create path and by a restore whose upload the full disk refused.
 */
export function storageFullMessage(target: ApplianceTarget, what: string, held: readonly ApplianceBackup[] | undefined, archive?: ArchiveListing): string {
  return (
    `Appliance "${target.name}" ${what}. ` +
    `It holds ${held ? describeHeld(held, archive) : 'backups that could not be listed'}. ` +
    `Fix: delete a backup on the appliance that you no longer need (offsite never deletes backups it did not put there), ` +
    `or lower applianceKeep (now ${target.applianceKeep}) so offsite keeps fewer of its own after each verified copy.`
  );
}

/**
 * What the appliance holds when the error is its refusal for lack of space; undefined
 * when the error is something else. The document does not say how a full disk answers:
 * a bare 4xx counts as one only when the appliance lists as many backups as it usually holds.
 */
async function storageRefusal(client: ApplianceClient, error: unknown): Promise<ApplianceBackup[] | undefined> {
  const certain = error instanceof ApplianceStorageFull;
  const likely = error instanceof VendorApiError && error.status !== undefined && error.status < 500 && error.status !== 409;
  if (!certain && !likely) return undefined;
  const held = await client.listBackups().catch(() => undefined);
  if (!certain && !(held !== undefined && held.length >= TYPICAL_BACKUP_SLOTS)) return undefined;
  return held ?? [];
}

/**
 * Deletes one backup offsite put on the appliance that is safe to lose: a failed one it
 * made, or else the oldest completed one with a verified archive copy. Returns what was
 * done, in words, or undefined when there is no such backup (nothing is deleted then).
 */
async function freeOneSlot(client: ApplianceClient, held: readonly ApplianceBackup[], archive: ArchiveListing): Promise<string | undefined> {
  const failed = held.find((backup) => isMadeByOffsite(backup) && backup.status === 'failed');
  const archived = held
    .filter((backup) => backup.status === 'completed' && (isMadeByOffsite(backup) || isUploadedCopy(backup, archive)) && hasVerifiedCopy(backup, archive))
    .sort((a, b) => (a.backup_time ?? 0) - (b.backup_time ?? 0));
  const victim = failed ?? archived[0];
  if (!victim) return undefined;
  await client.deleteBackup(victim.id);
  const copy = archive.copies.find((candidate) => candidate.objectMatchesManifest && (describesBackup(candidate, victim) || isUploadOf(victim, candidate)));
  return failed
    ? `The appliance was full: deleted failed backup ${victim.id} that offsite had made, to make room.`
    : `The appliance was full: deleted backup ${victim.id} (${backupTimeOf(victim) ?? 'time unknown'}), which offsite put there and which is archived and verified as ${copy?.manifest.objectKey ?? '?'}, to make room.`;
}

/** A timeout, a dropped connection or a 5xx: the appliance may have acted before the answer was lost. */
function isAmbiguousAnswer(error: unknown): error is TransientApiError {
  return error instanceof TransientApiError && (error.status === undefined || error.status >= 500);
}

/**
 * One POST backups. Every field of the create answer is optional in the document, the id
 * included; and an answer lost to a 5xx or a dropped connection may follow a backup the
 * appliance did make. Either way the backup is the one carrying this execution's
 * description (unique per execution): it is adopted, never created a second time.
 */
async function postBackup(client: ApplianceClient, description: string): Promise<{ backup: ApplianceBackup; notes: string[] }> {
  let answer: CreatedBackup;
  try {
    answer = await client.createBackup(description);
  } catch (error) {
    if (!isAmbiguousAnswer(error)) throw error;
    let held: ApplianceBackup[];
    try {
      held = await client.listBackups();
    } catch (listError) {
      throw new TransientApiError(
        `${error.message}. The answer was lost and the appliance's backups could not be listed (${errorMessage(listError)}), so it is not known whether a backup was made: ` +
          `look on the appliance for one described "${description}".`,
        undefined,
        error.status,
      );
    }
    const made = held.filter((backup) => backup.description === description);
    const [only] = made;
    if (made.length === 1 && only) return { backup: only, notes: [`The answer to the create request was lost (${error.message}); the appliance had made backup ${only.id}, which this run adopted.`] };
    if (made.length > 1) throw new VendorApiError(`The answer to the create request was lost (${error.message}), and ${made.length} backups carry its description "${description}".`);
    throw new TransientApiError(
      `${error.message}. The appliance lists no backup described "${description}", so none was made and nothing was left behind; the next run tries again.`,
      undefined,
      error.status,
    );
  }
  if (answer.id !== undefined) return { backup: { ...answer, id: answer.id }, notes: [] };
  return { backup: await findByDescription(client, description), notes: [] };
}

/** The create answer came without an id: the backup is the one carrying this execution's description. */
async function findByDescription(client: ApplianceClient, description: string): Promise<ApplianceBackup> {
  const matches = (await client.listBackups()).filter((backup) => backup.description === description);
  const [only] = matches;
  if (matches.length !== 1 || !only) {
    throw new VendorApiError(`The appliance answered the new backup without an id, and ${matches.length} backups carry its description "${description}".`);
  }
  return only;
}

/** GET items/{id}; `failed` ends the backup with the appliance's status_message. */
export async function checkBackup(
  client: ApplianceClient,
  target: ApplianceTarget,
  backupId: string,
  previous: PollState,
  expectedSizeBytes?: number,
  notes: readonly string[] = [],
): Promise<BackupInProgress> {
  const backup = await client.getBackup(backupId);
  if (backup.id !== backupId) throw new VendorApiError(`Asked for appliance backup ${backupId}, got ${backup.id}.`);
  if (backup.status === 'failed') {
    throw new ApplianceBackupFailed(`Appliance "${target.name}" reports backup ${backupId} failed: ${backup.status_message || '(no status_message given)'}`);
  }
  if (backup.status === 'completed' && expectedSizeBytes !== undefined && backup.size !== expectedSizeBytes) {
    throw new CopyVerificationFailed(
      `Appliance "${target.name}" holds uploaded backup ${backupId} with size ${backup.size ?? 'unknown'}; ${expectedSizeBytes} bytes were sent.`,
    );
  }
  return { ...summarize(backup), poll: advancePoll(previous, target.poll), notes };
}

// ---------------------------------------------------------------------------------
// Prune
// ---------------------------------------------------------------------------------

export interface PrunePlan {
  /** Offsite-made backups that failed, and those beyond applianceKeep with a verified archive copy. */
  readonly delete: string[];
  /** Beyond applianceKeep, but kept: no verified archive copy (yet). */
  readonly keptWithoutArchiveCopy: string[];
  /** Not made by offsite: never deleted. */
  readonly notMadeByOffsite: string[];
}

/** Same backup, not merely the same id: ids may be reused (replaced hardware, a factory reset). */
function describesBackup(copy: ArchivedCopy, backup: ApplianceBackup): boolean {
  const backupTime = backupTimeOf(backup);
  return (
    copy.manifest.sourceBackupId === backup.id &&
    (backup.size === undefined || copy.manifest.sizeBytes === backup.size) &&
    (backupTime === null || manifestString(copy, 'backup_time') === null || manifestString(copy, 'backup_time') === backupTime)
  );
}

function hasVerifiedCopy(backup: ApplianceBackup, archive: ArchiveListing): boolean {
  return archive.copies.some((copy) => copy.objectMatchesManifest && (describesBackup(copy, backup) || isUploadOf(backup, copy)));
}

/** A copy a restore uploaded: offsite put it there, and the archive holds the same backup. */
function isUploadedCopy(backup: ApplianceBackup, archive: ArchiveListing): boolean {
  return !isMadeByOffsite(backup) && archive.copies.some((copy) => copy.objectMatchesManifest && isUploadOf(backup, copy));
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

// ---------------------------------------------------------------------------------
// Restore
// ---------------------------------------------------------------------------------

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

/**
 * An upload gets a new id from the appliance, so a copy uploaded by an earlier restore is
 * recognised by what the appliance read from the file: the same backup_time, size,
 * software and device. Restoring it in place spares another upload and another of the
 * appliance's few backup slots.
 */
function isUploadOf(backup: ApplianceBackup, copy: ArchivedCopy): boolean {
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

function manifestString(copy: ArchivedCopy, field: string): string | null {
  const value = copy.manifest.source[field];
  return typeof value === 'string' ? value : null;
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
  const onAppliance =
    held.find(
      (backup) => backup.id === wantedId && backup.status === 'completed' && (copy === undefined || describesBackup(copy, backup)),
    ) ?? (copy ? held.find((backup) => isUploadOf(backup, copy)) : undefined);
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
      throw new SoftwareVersionMismatch(
        `Backup ${wantedId} was made on software ${backupVersion}; appliance "${target.name}" runs ${applianceVersion}. Nothing was changed. ` +
          'To restore it anyway, start the restore with "allowVersionMismatch": true (CLI: --allow-version-mismatch).',
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

export interface RestoreBaseline {
  /** last_restore_time before this restore: a status at or before it is the previous restore's. */
  readonly previousRestoreTime: number;
  readonly previousStatus: string | null;
}

export async function readRestoreBaseline(client: ApplianceClient): Promise<RestoreBaseline> {
  const status = await client.restoreStatus();
  return { previousRestoreTime: status.last_restore_time ?? 0, previousStatus: status.status ?? null };
}

export interface RestoreStarted {
  /** Epoch seconds, our clock, just before the POST. */
  readonly requestedAt: number;
  /** False when the answer to the POST was lost (the appliance may already be rebooting). */
  readonly acknowledged: boolean;
  readonly note: string | null;
  /** This restore's last_restore_time in the appliance's answer to the POST; null when the answer was lost or had none. */
  readonly restoreTime: number | null;
}

/**
 * POST items/{id}/restore. The appliance reboots as part of it, so an answer lost to a
 * dropped connection or a 502/503 is not taken as "not started": restore_status decides.
 */
export async function requestRestore(client: ApplianceClient, backupId: string, baseline: RestoreBaseline, clock: Clock): Promise<RestoreStarted> {
  if (baseline.previousStatus === 'started') {
    throw new RestoreInProgress(
      `The appliance reports a restore still running (restore_status "started", last_restore_time ${baseline.previousRestoreTime}). ` +
        'Nothing was started; wait for it to finish and check its outcome before restoring again.',
    );
  }
  const requestedAt = Math.floor(clock().getTime() / 1000);
  try {
    const answer = await client.restoreBackup(backupId);
    const restoreTime = answer.last_restore_time !== undefined && answer.last_restore_time > 0 ? answer.last_restore_time : null;
    return { requestedAt, acknowledged: true, note: null, restoreTime };
  } catch (error) {
    // Any 5xx, not only a gateway's: the appliance may have begun the restore (and its
    // reboot) before answering, and repeating the request could start a second one.
    if (isRebootSymptom(error) || (error instanceof TransientApiError && error.status !== undefined && error.status >= 500)) {
      return { requestedAt, acknowledged: false, note: `The answer to the restore request was lost (${error.message}); restore_status decides.`, restoreTime: null };
    }
    throw error;
  }
}

const REBOOT_STATUSES = new Set([502, 503, 504]);

/** A dropped connection, a timeout, or a gateway answering for the rebooting appliance. */
export function isRebootSymptom(error: unknown): error is TransientApiError {
  return error instanceof TransientApiError && (error.status === undefined || REBOOT_STATUSES.has(error.status));
}

/**
 * The appliance's clock and ours may differ. A status counts only when it is not older
 * than the one read before the restore, and not from before the request by more than this.
 */
export const CLOCK_SKEW_SECONDS = 600;

export interface RestoreProgress {
  /** rebooting (unreachable), waiting (old status still shown), restoring (started/not_run), completed. */
  readonly phase: 'rebooting' | 'waiting' | 'restoring' | 'completed';
  readonly status: string | null;
  readonly statusMessage: string | null;
  readonly lastRestoreTime: number | null;
  readonly unreachableChecks: number;
  /** This restore's last_restore_time as far as known: from the answer to the POST, else from the first status that was this restore's. */
  readonly restoreTime: number | null;
  /** A restore_status read since the request has been this restore's: the status service has moved on from the previous one. */
  readonly seenThisRestore: boolean;
  readonly poll: PollState;
}

/** What the checks so far have learnt; absent fields are taken from the request. */
export interface RestoreWatch {
  readonly poll: PollState;
  readonly unreachableChecks: number;
  readonly restoreTime?: number | null;
  readonly seenThisRestore?: boolean;
}

export function restorePollPolicy(target: ApplianceTarget): PollPolicy {
  return { ...target.poll, timeoutMinutes: target.poll.timeoutMinutes + target.restore.rebootWindowMinutes };
}

export function startRestorePoll(target: ApplianceTarget): PollState {
  return startPoll(restorePollPolicy(target));
}

/**
 * Whether a restore_status read is this restore's rather than the previous restore's,
 * still shown. last_restore_time has whole seconds, so "newer than the baseline" cannot
 * tell two restores in one second apart. What can:
 * - a read that differs from the baseline, by its time or by its status in the same
 *   second: the resource shows only the latest restore, and the previous one's status
 *   does not change once it has ended (no restore is started while one runs);
 * - a read exactly like the baseline, only when the appliance's own answer put this
 *   restore in the baseline's second and the restore has since been seen under way: the
 *   reboot it does, or a read that was this restore's. Without that answer such a read
 *   stays the previous restore's: waiting wrongly ends in RestoreTimedOut, taking it
 *   wrongly would report another restore's outcome as this one's.
 * The document is silent on all of this. The one case left that no read can settle: a
 * status service that shows the previous restore after the reboot while this restore
 * shares its second and its outcome looks the same.
 */
function isThisRestores(status: RestoreStatus, started: RestoreBaseline & Pick<RestoreStarted, 'requestedAt'>, restoreTime: number | null, underWay: boolean): boolean {
  const time = status.last_restore_time ?? 0;
  if (time < started.previousRestoreTime || time < started.requestedAt - CLOCK_SKEW_SECONDS) return false;
  if (time !== started.previousRestoreTime || (status.status ?? null) !== started.previousStatus) return true;
  return restoreTime === started.previousRestoreTime && underWay;
}

/**
 * GET restore_status through the reboot. Unreachable is expected for
 * restore.rebootWindowMinutes after the request (the larger of the poll's waited time
 * and the wall clock counts); a status from before this restore is ignored.
 */
export async function checkRestore(
  client: ApplianceClient,
  target: ApplianceTarget,
  started: RestoreStarted & RestoreBaseline,
  previous: RestoreWatch,
  clock: Clock,
): Promise<RestoreProgress> {
  const knownTime = previous.restoreTime !== undefined ? previous.restoreTime : started.restoreTime;
  const seenBefore = previous.seenThisRestore ?? false;
  const poll = advancePoll(previous.poll, restorePollPolicy(target));
  let status: RestoreStatus;
  try {
    status = await client.restoreStatus();
  } catch (error) {
    if (!isRebootSymptom(error)) throw error;
    const sinceRequest = Math.max(poll.elapsedSeconds, clock().getTime() / 1000 - started.requestedAt);
    const windowSeconds = target.restore.rebootWindowMinutes * 60;
    if (sinceRequest > windowSeconds) {
      throw new RebootWindowExceeded(
        `Appliance "${target.name}" is still unreachable ${Math.round(sinceRequest / 60)} min after the restore was requested ` +
          `(restore.rebootWindowMinutes is ${target.restore.rebootWindowMinutes}): ${error.message}. Check the appliance's console; the restore may still be running.`,
      );
    }
    return {
      phase: 'rebooting',
      status: null,
      statusMessage: null,
      lastRestoreTime: null,
      unreachableChecks: previous.unreachableChecks + 1,
      restoreTime: knownTime,
      seenThisRestore: seenBefore,
      poll,
    };
  }
  const lastRestoreTime = status.last_restore_time ?? 0;
  const current = isThisRestores(status, started, knownTime, seenBefore || previous.unreachableChecks > 0);
  const progress = {
    status: status.status ?? null,
    statusMessage: status.status_message || null,
    lastRestoreTime,
    unreachableChecks: previous.unreachableChecks,
    restoreTime: knownTime ?? (current && lastRestoreTime > 0 ? lastRestoreTime : null),
    seenThisRestore: seenBefore || current,
    poll,
  };
  if (!current) return { ...progress, phase: 'waiting' };
  if (status.status === 'completed') return { ...progress, phase: 'completed' };
  if (status.status === 'completed_with_errors' || status.status === 'failed') {
    throw new RestoreFailed(
      `Appliance "${target.name}" reports the restore ${status.status}: ${status.status_message || '(no status_message given)'}`,
    );
  }
  return { ...progress, phase: 'restoring' };
}
