// The VPS backup and restore steps, one provider call each (a listing walks all its
// pages). Handlers call these with a client and a clock; nothing here touches AWS.
import type { Clock } from '../../shared/clock';
import { BackupNotFound, InvalidInput, RequestOutcomeUnknown, RestoreFailed, TransientApiError } from '../../shared/errors';
import { BackupNotRestorable, ProviderBackupFailed } from './errors';
import { advancePoll, startPoll, type PollState } from '../../shared/poll';
import { lostAnswerSettledNote, offsiteDescription } from '../../shared/provenance';
import { serverIdOf, type ProviderBackup, type VpsClient } from './client';
import type { VpsTarget } from './config';
import { BACKUP_COMPLETED, BACKUP_PENDING_WORDS, START_GRACE_CHECKS, restorePhaseOf } from './server-status';

/** What the state carries of a provider backup. */
export interface BackupFacts {
  readonly backupId: number;
  readonly backupType: string;
  readonly providerStatus: string;
  readonly sizeMb: number | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly description: string | null;
  readonly serverName: string | null;
}

export function factsOf(backup: ProviderBackup): BackupFacts {
  return {
    backupId: backup.id,
    backupType: backup.backup_type,
    providerStatus: backup.status,
    sizeMb: backup.size_mb ?? null,
    createdAt: backup.created_at,
    expiresAt: backup.expires_at ?? null,
    description: backup.description ?? null,
    serverName: backup.server?.name ?? null,
  };
}

// ---------------------------------------------------------------- backup

export interface BackupState {
  /** null until the backup is identified, after an answer that did not name it. */
  readonly backupId: number | null;
  /** Says offsite made it, for which target and in which execution: how an unidentified backup is found. */
  readonly description: string;
  readonly requestedAt: string;
  /** What came back instead of the backup (5xx, timeout, dropped connection); null when the answer named it. */
  readonly ambiguousAnswer: string | null;
  readonly status: 'pending' | 'completed';
  readonly facts: BackupFacts | null;
  readonly poll: PollState;
  /** What the run had to do on the way (a lost answer settled), printed as the backup's `note`s. */
  readonly notes: readonly string[];
}

/** The description offsite gives its manual backups. Never trusted alone to say a backup is offsite's: the catalogue records are. */
export function backupDescription(target: VpsTarget, executionName: string): string {
  return offsiteDescription(target.name, executionName);
}

/**
 * POST backups/, once. A 429 is RateLimited (the provider did not act: the state machine
 * repeats the call); a 5xx, a timeout or a dropped connection may come after the provider
 * acted, so the step returns no id and CheckBackup looks for the backup by its description
 * before anything creates another.
 */
export async function createBackup(client: Pick<VpsClient, 'createBackup'>, target: VpsTarget, executionName: string, clock: Clock): Promise<BackupState> {
  const description = backupDescription(target, executionName);
  const requestedAt = clock().toISOString();
  const start = { description, requestedAt, status: 'pending' as const, poll: startPoll(target.poll), notes: [] };
  try {
    const backup = await client.createBackup(target.serverId, description);
    if (!backup) return { ...start, backupId: null, ambiguousAnswer: 'the provider answered 2xx without the backup', facts: null };
    return { ...start, backupId: backup.id, ambiguousAnswer: null, facts: factsOf(backup) };
  } catch (error) {
    if (error instanceof TransientApiError) return { ...start, backupId: null, ambiguousAnswer: error.message, facts: null };
    throw error;
  }
}

/** Checks that look for an unidentified backup by its description before concluding that none was made. */
export const UNCONFIRMED_LOOKUPS = 3;

function backupProgress(backup: ProviderBackup): 'pending' | 'completed' {
  const status = backup.status.trim().toLowerCase();
  if (status === BACKUP_COMPLETED) return 'completed';
  if (BACKUP_PENDING_WORDS.includes(status)) return 'pending';
  // The document shows in_progress and completed only: any other word ends the backup
  // without success, with what the provider said.
  const said = [backup.message, backup.description].find((text): text is string => typeof text === 'string' && text !== '');
  throw new ProviderBackupFailed(`The VPS provider reports backup ${backup.id} of server ${serverIdOf(backup) ?? '?'} as "${backup.status}"${said ? `: ${said}` : ''}.`);
}

/** Reads the backup's progress among the server's manual backups; one not yet identified is looked for by its description. */
export async function checkBackup(client: Pick<VpsClient, 'listBackups'>, target: VpsTarget, previous: BackupState): Promise<BackupState> {
  const listed = await client.listBackups({ serverId: target.serverId, backupType: 'manual' });
  const poll = advancePoll(previous.poll, target.poll);
  const backup =
    previous.backupId !== null
      ? listed.find((item) => item.id === previous.backupId)
      : listed.filter((item) => item.description === previous.description).sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))[0];
  if (!backup) {
    if (previous.backupId !== null) throw new ProviderBackupFailed(`The VPS provider no longer lists backup ${previous.backupId} of server ${target.serverId} (requested at ${previous.requestedAt}).`);
    if (poll.attempt >= UNCONFIRMED_LOOKUPS || poll.exhausted) {
      throw new RequestOutcomeUnknown(
        `The backup of server ${target.serverId} got no clear answer (${previous.ambiguousAnswer ?? 'none'}), and after ${poll.attempt} checks the provider lists no manual backup described "${previous.description}": it may or may not have been made; check the provider's panel before making another.`,
      );
    }
    return { ...previous, poll };
  }
  // Found by its description after an answer that did not name it: the provider did act on the lost answer.
  const settled = previous.backupId === null && previous.ambiguousAnswer !== null ? [lostAnswerSettledNote(previous.ambiguousAnswer, 'the provider', backup.id)] : [];
  return { ...previous, backupId: backup.id, status: backupProgress(backup), facts: factsOf(backup), poll, notes: [...previous.notes, ...settled] };
}

// ---------------------------------------------------------------- restore

/** The backup a restore will use, checked to be this server's and completed. */
export interface RestoreBackup extends BackupFacts {
  readonly serverId: number;
  /** The server the restore overwrites: the target's own, or (a drill) its configured drill.to. */
  readonly restoreOnto?: number;
}

/**
 * The server a restore overwrites. Another server than the target's own is accepted only
 * as the target's configured drill destination: that is the one place the drill's
 * implicit confirmation reaches.
 */
export function restoreServerOf(target: VpsTarget, requested: number | undefined): number {
  if (requested === undefined || requested === target.serverId) return target.serverId;
  if (requested !== target.drill?.to) {
    throw new InvalidInput(`Nothing was restored: server ${requested} is not ${target.name}'s server ${target.serverId} nor its configured drill destination (drill.to).`);
  }
  return requested;
}

/**
 * backupId or "latest": the newest completed backup of the server, automatic or manual,
 * by created_at. A backup of another server, or one not completed, is refused before any
 * restore call. The provider's server_id filter is not trusted alone: each backup's own
 * server is checked too.
 */
export async function resolveRestoreBackup(client: Pick<VpsClient, 'listBackups'>, target: VpsTarget, backupId: string, onto?: number): Promise<RestoreBackup> {
  const restoreOnto = restoreServerOf(target, onto);
  const own = (await client.listBackups({ serverId: target.serverId })).filter((backup) => serverIdOf(backup) === target.serverId);
  if (backupId === 'latest') {
    const newest = own.filter((backup) => backup.status === BACKUP_COMPLETED).sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))[0];
    if (!newest) throw new BackupNotFound(`The VPS provider holds no completed backup of server ${target.serverId}: there is nothing to restore.`);
    return { ...factsOf(newest), serverId: target.serverId, restoreOnto };
  }
  if (!/^\d{1,15}$/.test(backupId)) throw new InvalidInput(`Nothing was restored: "${backupId}" is not a VPS backup id (a number) or "latest".`);
  const id = Number(backupId);
  const backup = own.find((item) => item.id === id);
  if (!backup) {
    const elsewhere = (await client.listBackups()).find((item) => item.id === id);
    if (elsewhere) {
      const server = serverIdOf(elsewhere);
      throw new BackupNotRestorable(
        `Nothing was restored: backup ${id} belongs to server ${server ?? '?'}${elsewhere.server?.name ? ` (${elsewhere.server.name})` : ''}, not to ${target.name}'s server ${target.serverId}.`,
      );
    }
    throw new BackupNotFound(`Nothing was restored: the VPS provider holds no backup ${id}.`);
  }
  if (backup.status !== BACKUP_COMPLETED) {
    throw new BackupNotRestorable(`Nothing was restored: backup ${id} of server ${target.serverId} is "${backup.status}", not completed.`);
  }
  return { ...factsOf(backup), serverId: target.serverId, restoreOnto };
}

export interface RestoreState {
  readonly backupId: number;
  /** The server being restored (absent in states written before drills: the target's own). */
  readonly serverId?: number;
  readonly requestedAt: string;
  /** What came back instead of a clear answer (5xx, timeout): the restore may or may not have started. */
  readonly ambiguousAnswer: string | null;
  readonly status: 'pending' | 'completed';
  /** The server's status at the last check; null before the first. */
  readonly serverStatus: string | null;
  readonly seenRestoring: boolean;
  readonly checks: number;
  readonly note: string | null;
  readonly poll: PollState;
}

/** POST servers/{id}/restore/, once. A 409 fails as RestoreInProgress; an ambiguous answer is followed by the server's status. */
export async function requestRestore(client: Pick<VpsClient, 'restore'>, target: VpsTarget, backup: RestoreBackup, clock: Clock): Promise<RestoreState> {
  const requestedAt = clock().toISOString();
  const serverId = backup.restoreOnto ?? target.serverId;
  const start = { backupId: backup.backupId, serverId, requestedAt, status: 'pending' as const, serverStatus: null, seenRestoring: false, checks: 0, note: null, poll: startPoll(target.poll) };
  try {
    await client.restore(serverId, backup.backupId);
    return { ...start, ambiguousAnswer: null };
  } catch (error) {
    if (error instanceof TransientApiError) return { ...start, ambiguousAnswer: error.message };
    throw error;
  }
}

/**
 * Reads the server's status (words in server-status.ts). Finished counts only once the
 * server has shown `restoring`; failed once it has, or after START_GRACE_CHECKS checks:
 * the status may not have changed yet when the first check comes, and a server that was
 * broken before the restore may read `error` until the restore starts.
 */
export async function checkRestore(client: Pick<VpsClient, 'getServer'>, target: VpsTarget, previous: RestoreState): Promise<RestoreState> {
  const serverId = previous.serverId ?? target.serverId;
  const server = await client.getServer(serverId);
  const poll = advancePoll(previous.poll, target.poll);
  const phase = restorePhaseOf(server.status);
  const checks = previous.checks + 1;
  const seenRestoring = previous.seenRestoring || phase === 'restoring';
  const next: RestoreState = { ...previous, serverStatus: server.status, seenRestoring, checks, poll };
  const graceOver = checks >= START_GRACE_CHECKS;
  if (phase === 'failed' && (seenRestoring || graceOver)) {
    throw new RestoreFailed(
      `The VPS provider reports server ${serverId} as "${server.status}" after the restore from backup ${previous.backupId}${server.message ? `: ${server.message}` : ''}.`,
    );
  }
  if (phase !== 'finished') return next;
  if (seenRestoring) return { ...next, status: 'completed' };
  if (!graceOver) return next;
  if (previous.ambiguousAnswer !== null) {
    throw new RequestOutcomeUnknown(
      `The restore request for server ${serverId} got no clear answer (${previous.ambiguousAnswer}), and in ${checks} checks the server never showed a restore running (it reads "${server.status}"): the restore may or may not have happened; check the server before starting another.`,
    );
  }
  // Reading "finished" without ever having seen "restoring" does not prove the restore
  // ran (a provider may queue it, or start it only once the server stops): keep looking
  // until the poll budget is spent, and then say the outcome is unknown rather than
  // report a restore that may not have happened as done.
  if (!poll.exhausted) return next;
  throw new RequestOutcomeUnknown(
    `The VPS provider accepted the restore of server ${serverId} from backup ${previous.backupId}, but in ${checks} checks over poll.timeoutMinutes the server never showed a restore running (it reads "${server.status}"): the restore may or may not have happened; check the server's data before starting another.`,
  );
}

