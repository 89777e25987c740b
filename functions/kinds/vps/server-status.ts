// What the servers API says about a server while a restore runs. The servers API is not in
// the vendor document (it only names `POST /api/v1/servers/{server_id}/restore/`); docs/design.md
// ("VPS provider") records what comparable providers do, and these words are that
// assumption, kept in this one place:
// - `GET /api/v1/servers/{server_id}/` answers the server as a JSON object with a string
//   `status` (also accepted: the object under `server` or `data`);
// - while the restore runs, the status reads like `restoring`;
// - once it is done, like `running` / `active`; when it failed, like `error` / `failed`.
// Anything else (e.g. `stopped`, `starting`, `rebooting`) is read as "not finished yet",
// so the restore's poll budget (poll.timeoutMinutes) decides, never a guess of success.

/** What one status word means for a restore that was requested. */
export type RestorePhase = 'restoring' | 'finished' | 'failed' | 'other';

export const RESTORING_WORDS: readonly string[] = ['restoring', 'restore', 'restore_in_progress', 'restoring_backup'];
export const FINISHED_WORDS: readonly string[] = ['running', 'active', 'online', 'started', 'up'];
export const FAILED_WORDS: readonly string[] = ['error', 'failed', 'restore_failed', 'failure'];

export function restorePhaseOf(status: string): RestorePhase {
  const word = status.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if (RESTORING_WORDS.includes(word)) return 'restoring';
  if (FINISHED_WORDS.includes(word)) return 'finished';
  if (FAILED_WORDS.includes(word)) return 'failed';
  return 'other';
}

/**
 * Checks during which a server reading "failed" (`error`) before it ever read "restoring"
 * is taken as its state from before the restore: the document does not say how soon a
 * requested restore shows in the server's status. "Finished" never counts without a
 * `restoring` seen first: a server that never shows one ends, once poll.timeoutMinutes is
 * spent, in RequestOutcomeUnknown (the restore may not have happened).
 */
export const START_GRACE_CHECKS = 3;

// The backups list's `status` words: the document shows `in_progress` and `completed`.
// Other words a provider may use for a backup still being made are read as in progress;
// any other word is a terminal status that is not success.
export const BACKUP_PENDING_WORDS: readonly string[] = ['in_progress', 'pending', 'queued', 'creating', 'running', 'started'];
export const BACKUP_COMPLETED = 'completed';
