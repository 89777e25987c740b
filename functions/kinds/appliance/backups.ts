import type { ArchiveListing } from '../../archive/listing';
import type { ApplianceTarget } from './config';
import { CopyVerificationFailed, TransientApiError, VendorApiError, errorMessage } from '../../shared/errors';
import { ApplianceBackupFailed, ApplianceStorageFull } from './errors';
import { advancePoll, startPoll, type PollState } from '../../shared/poll';
import { lostAnswerSettledNote, offsiteDescription } from '../../shared/provenance';
import { backupTimeOf, summarize, type BackupSummary } from './backup-summary';
import type { ApplianceBackup, ApplianceClient, CreatedBackup } from './client';
import { describeHeld, describesBackup, hasVerifiedCopy, isMadeByOffsite, isUploadOf, isUploadedCopy } from './provenance';

/** The usual capacity of these appliances (docs/design.md: "only a couple of backups fit on the box at once"). */
const TYPICAL_BACKUP_SLOTS = 2;

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
      const refusal = await storageRefusal(client, error);
      if (refusal === undefined) {
        // What was already deleted to make room must not go unsaid when the retry fails otherwise.
        if (notes.length > 0 && error instanceof Error) error.message = `${error.message} (Before this: ${notes.join(' ')})`;
        throw error;
      }
      // Only a refusal that certainly is a full disk frees a slot: a bare 4xx may be any
      // other problem, and deleting a backup would not mend it.
      const freed = attempt === 0 && refusal.certain && refusal.held !== undefined ? await freeOneSlot(client, refusal.held, await readArchive()) : undefined;
      if (freed !== undefined) {
        notes.push(freed);
        continue;
      }
      throw new ApplianceStorageFull(
        storageFullMessage(target, `refused a new backup; its backup storage ${refusal.certain ? 'is full' : 'is probably full'} (${errorMessage(error)})`, refusal.held) +
          (notes.length > 0 ? ` Before this: ${notes.join(' ')}` : ''),
      );
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
async function storageRefusal(client: ApplianceClient, error: unknown): Promise<{ certain: boolean; held: ApplianceBackup[] | undefined } | undefined> {
  const certain = error instanceof ApplianceStorageFull;
  const likely = error instanceof VendorApiError && error.status !== undefined && error.status < 500 && error.status !== 409;
  if (!certain && !likely) return undefined;
  const held = await client.listBackups().catch(() => undefined);
  if (!certain && !(held !== undefined && held.length >= TYPICAL_BACKUP_SLOTS)) return undefined;
  return { certain, held };
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
    if (made.length === 1 && only) return { backup: only, notes: [lostAnswerSettledNote(error.message, 'the appliance', only.id)] };
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
  // size is optional in the document: a completed backup without one is not a mismatch.
  if (backup.status === 'completed' && expectedSizeBytes !== undefined && backup.size !== undefined && backup.size !== expectedSizeBytes) {
    throw new CopyVerificationFailed(
      `Appliance "${target.name}" holds uploaded backup ${backupId} with size ${backup.size ?? 'unknown'}; ${expectedSizeBytes} bytes were sent.`,
    );
  }
  return { ...summarize(backup), poll: advancePoll(previous, target.poll), notes };
}
