import type { NetboxCloudTarget } from '../config/schema';
import { BackupNotFound, InvalidInput, RetrievalExpired, RetrievalNotFound, TargetVersionUnavailable, VendorApiError } from '../shared/errors';
import { advancePoll, startPoll, type PollState } from '../shared/poll';
import type { Backup, BackupRequest, NetboxCloudClient, RestoreJob, Retrieval } from './client';

// The NetBox Cloud backup and restore steps, one vendor call each (a listing walks all
// its pages). Handlers call these with a client and a clock; nothing here touches AWS.

export type Clock = () => Date;

export interface BackupSummary {
  readonly backupId: string;
  readonly instanceId: string;
  readonly createdAt: string;
  readonly sizeBytes: number | null;
  readonly checksum: string | null;
  readonly version: string | null;
  readonly triggerType: string | null;
}

export function summarizeBackup(backup: Backup): BackupSummary {
  return {
    backupId: backup.id,
    instanceId: backup.obj_id,
    createdAt: backup.created,
    sizeBytes: backup.size_bytes ?? null,
    checksum: backup.checksum || null,
    version: backup.obj_version ?? null,
    triggerType: backup.trigger_type ?? null,
  };
}

export type Progress = 'pending' | 'completed' | 'failed';

// ---------------------------------------------------------------- backup requests

export interface BackupRequestState {
  readonly requestId: string;
  readonly requestedAt: string;
  readonly status: Progress;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly poll: PollState;
}

export async function requestBackup(client: NetboxCloudClient, target: NetboxCloudTarget, clock: Clock): Promise<BackupRequestState> {
  const requestedAt = clock().toISOString();
  const requestId = await client.requestBackup(target.instanceId);
  return { requestId, requestedAt, status: 'pending', startedAt: null, completedAt: null, poll: startPoll(target.poll) };
}

function findById<T extends { id: string }>(items: readonly T[], id: string): T | undefined {
  return items.find((item) => item.id === id);
}

// The document gives a request only created/started/completed. A `failed` timestamp or
// a status of "failed" is not documented; we honour either if a server sends it.
function requestProgress(item: { completed?: string | null; failed?: string | null; status?: string | null }): Progress {
  if (item.failed || item.status === 'failed') return 'failed';
  return item.completed ? 'completed' : 'pending';
}

export async function checkBackupRequest(client: NetboxCloudClient, target: NetboxCloudTarget, previous: BackupRequestState): Promise<BackupRequestState> {
  const request = findById<BackupRequest>(await client.listBackupRequests(), previous.requestId);
  if (!request) {
    throw new VendorApiError(`NetBox Cloud does not list backup request ${previous.requestId} (made at ${previous.requestedAt}).`);
  }
  return {
    ...previous,
    status: requestProgress(request),
    startedAt: request.started ?? null,
    completedAt: request.completed ?? null,
    poll: advancePoll(previous.poll, target.poll),
  };
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Slack around the request's own timestamps when matching by time (clock skew, queueing). */
const MATCH_SLACK_MS = 5 * 60 * 1000;

/**
 * The backup a request produced. The list order is not documented, so every page is
 * read and the request is matched, never "the first item". A backup whose trigger_id is
 * the request id is the match. The document does not say what trigger_id holds for an
 * on-demand backup, so when the server leaves it empty we fall back to the one backup of
 * the instance, with no trigger id of its own, created inside the request's window
 * (requested - slack .. completed + slack). A server that does put ids in trigger_id for
 * on-demand backups gets no fallback (ours may just be listed late: BackupNotFound is
 * retried), and none or several candidates is an error rather than a guess.
 */
export async function findProducedBackup(
  client: Pick<NetboxCloudClient, 'listBackups'>,
  target: NetboxCloudTarget,
  request: BackupRequestState,
  clock: Clock,
): Promise<BackupSummary> {
  const requestedAt = new Date(request.requestedAt);
  const since = new Date(requestedAt.getTime() - 24 * 60 * 60 * 1000);
  const backups = await client.listBackups({ initialDate: utcDay(since) });
  const byTrigger = backups.filter((backup) => backup.trigger_id === request.requestId);
  if (byTrigger.length === 1 && byTrigger[0]) return summarizeBackup(byTrigger[0]);
  if (byTrigger.length > 1) {
    throw new VendorApiError(`NetBox Cloud lists ${byTrigger.length} backups for request ${request.requestId}; refusing to guess which one to archive.`);
  }
  const windowStart = requestedAt.getTime() - MATCH_SLACK_MS;
  const windowEnd = (request.completedAt ? new Date(request.completedAt) : clock()).getTime() + MATCH_SLACK_MS;
  const notListedYet = new BackupNotFound(
    `NetBox Cloud request ${request.requestId} completed, but no backup of ${target.instanceId} that it produced (created between ${new Date(windowStart).toISOString()} and ${new Date(windowEnd).toISOString()}) is listed yet.`,
  );
  const serverNamesRequests = backups.some((backup) => backup.trigger_id && backup.trigger_type !== 'scheduled');
  if (serverNamesRequests) throw notListedYet;
  const inWindow = backups.filter((backup) => {
    const created = new Date(backup.created).getTime();
    return backup.obj_id === target.instanceId && !backup.trigger_id && created >= windowStart && created <= windowEnd;
  });
  // A scheduled backup can land in the same window: an on-demand one is the better
  // match, and a scheduled one alone counts only if it was made after we asked.
  const onDemand = inWindow.filter((backup) => backup.trigger_type !== 'scheduled');
  const candidates = onDemand.length > 0 ? onDemand : inWindow.filter((backup) => new Date(backup.created).getTime() >= requestedAt.getTime());
  if (candidates.length === 1 && candidates[0]) return summarizeBackup(candidates[0]);
  if (candidates.length === 0) throw notListedYet;
  throw new VendorApiError(
    `NetBox Cloud lists ${candidates.length} backups of ${target.instanceId} created while request ${request.requestId} ran (${candidates.map((backup) => backup.id).join(', ')}); refusing to guess which one it produced.`,
  );
}

// ---------------------------------------------------------------- retrievals

export interface RetrievalState {
  readonly retrievalId: string;
  readonly backupId: string;
  readonly status: Progress;
  readonly expiresAt: string | null;
  readonly poll: PollState;
}

export async function requestRetrieval(client: NetboxCloudClient, target: NetboxCloudTarget, backupId: string): Promise<RetrievalState> {
  const retrievalId = await client.requestRetrieval(backupId);
  return { retrievalId, backupId, status: 'pending', expiresAt: null, poll: startPoll(target.poll) };
}

/** A retrieval counts as complete only once its download link is there too. */
function retrievalProgress(retrieval: Retrieval): Progress {
  if (retrieval.failed) return 'failed';
  return retrieval.completed && retrieval.presigned_url ? 'completed' : 'pending';
}

export async function checkRetrieval(client: NetboxCloudClient, target: NetboxCloudTarget, previous: RetrievalState): Promise<RetrievalState> {
  const retrieval = findById(await client.listRetrievals(), previous.retrievalId);
  if (!retrieval) throw new RetrievalNotFound(`NetBox Cloud does not list retrieval ${previous.retrievalId}.`);
  return { ...previous, status: retrievalProgress(retrieval), expiresAt: retrieval.expires ?? null, poll: advancePoll(previous.poll, target.poll) };
}

/** A link must stay valid this long to be worth starting a download or a restore with. */
export const RETRIEVAL_MIN_VALIDITY_MS = 15 * 60 * 1000;

function usable(retrieval: Retrieval, now: Date): boolean {
  if (retrievalProgress(retrieval) !== 'completed') return false;
  if (!retrieval.expires) return true;
  return new Date(retrieval.expires).getTime() - now.getTime() >= RETRIEVAL_MIN_VALIDITY_MS;
}

/**
 * The download URL of a completed, unexpired retrieval. Only the copy function calls
 * this; the URL is a bearer credential and must not leave it.
 */
export async function downloadUrlOf(client: NetboxCloudClient, retrievalId: string, clock: Clock): Promise<{ url: string; retrieval: Retrieval }> {
  const retrieval = findById(await client.listRetrievals(), retrievalId);
  if (!retrieval) throw new RetrievalNotFound(`NetBox Cloud does not list retrieval ${retrievalId}.`);
  if (!retrieval.presigned_url || retrievalProgress(retrieval) !== 'completed') {
    throw new RetrievalNotFound(`NetBox Cloud retrieval ${retrievalId} has not completed; there is no download link yet.`);
  }
  if (retrieval.expires && new Date(retrieval.expires).getTime() <= clock().getTime()) {
    throw new RetrievalExpired(`The download link of NetBox Cloud retrieval ${retrievalId} expired at ${retrieval.expires}.`);
  }
  return { url: retrieval.presigned_url, retrieval };
}

export interface ReusableRetrieval {
  readonly found: boolean;
  readonly retrievalId: string | null;
  readonly backupId: string;
  readonly expiresAt: string | null;
}

/** A completed retrieval of this backup whose link stays valid long enough to restore from. */
export async function findReusableRetrieval(client: NetboxCloudClient, backupId: string, clock: Clock): Promise<ReusableRetrieval> {
  const now = clock();
  const candidates = (await client.listRetrievals())
    .filter((retrieval) => retrieval.backup_id === backupId && usable(retrieval, now))
    .sort((a, b) => (b.expires ?? '').localeCompare(a.expires ?? ''));
  const best = candidates[0];
  return best
    ? { found: true, retrievalId: best.id, backupId, expiresAt: best.expires ?? null }
    : { found: false, retrievalId: null, backupId, expiresAt: null };
}

// ---------------------------------------------------------------- restore

export const LATEST = 'latest';

/** A backup id, or the newest backup of the target's instance for "latest" (newest by `created`, never by list position). */
export async function resolveBackup(client: NetboxCloudClient, target: NetboxCloudTarget, backupId: string): Promise<BackupSummary> {
  const backups = await client.listBackups();
  if (backupId === LATEST) {
    const newest = backups
      .filter((backup) => backup.obj_id === target.instanceId)
      .sort((a, b) => new Date(b.created).getTime() - new Date(a.created).getTime())[0];
    if (!newest) throw new BackupNotFound(`NetBox Cloud lists no backup of ${target.instanceId} (target "${target.name}").`);
    return summarizeBackup(newest);
  }
  const backup = findById(backups, backupId);
  if (!backup) throw new BackupNotFound(`NetBox Cloud lists no backup with id ${backupId} (target "${target.name}").`);
  return summarizeBackup(backup);
}

export interface RestoreState {
  readonly restoreJobId: string;
  readonly retrievalId: string;
  readonly targetInstanceId: string;
  readonly status: Progress;
  readonly failedAt: string | null;
  readonly completedAt: string | null;
  readonly redeployedAt: string | null;
  /** Checks made since the job first showed `completed`. */
  readonly checksSinceCompleted: number;
  readonly poll: PollState;
}

/** The document only shows ids like nb-aabbccddee01; any single token is accepted. */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateInstanceId(value: string, field: string): string {
  if (!INSTANCE_ID_PATTERN.test(value)) {
    throw new InvalidInput(`${field} "${value}" is not a NetBox Cloud instance id (expected something like nb-b23ff000888: letters, digits, ".", "_" and "-").`);
  }
  return value;
}

export async function requestRestore(client: NetboxCloudClient, target: NetboxCloudTarget, retrievalId: string, targetInstanceId: string): Promise<RestoreState> {
  const restoreJobId = await client.requestRestore(retrievalId, validateInstanceId(targetInstanceId, 'targetInstanceId'));
  return { restoreJobId, retrievalId, targetInstanceId, status: 'pending', failedAt: null, completedAt: null, redeployedAt: null, checksSinceCompleted: 0, poll: startPoll(target.poll) };
}

/**
 * How many checks after `completed` we wait for `nb_redeployed`. The document shows the
 * redeploy a few seconds after completion but does not promise it; a server that never
 * reports it must not keep a finished restore polling until the timeout.
 */
export const REDEPLOY_GRACE_CHECKS = 5;

/** A restore is done when the job completed and the instance was redeployed (or the grace ran out); `failed` ends it too. */
function restoreProgress(job: RestoreJob, checksSinceCompleted: number): Progress {
  if (job.failed) return 'failed';
  if (!job.completed) return 'pending';
  return job.nb_redeployed || checksSinceCompleted >= REDEPLOY_GRACE_CHECKS ? 'completed' : 'pending';
}

export async function checkRestore(client: Pick<NetboxCloudClient, 'listRestoreJobs'>, target: NetboxCloudTarget, previous: RestoreState): Promise<RestoreState> {
  const job = findById(await client.listRestoreJobs({ targetInstanceId: previous.targetInstanceId }), previous.restoreJobId);
  if (!job) throw new VendorApiError(`NetBox Cloud does not list restore job ${previous.restoreJobId} for ${previous.targetInstanceId}.`);
  // Only a failed job says why through this flag; the document shows it false on a completed one too.
  if (job.failed && job.target_version_available === false) {
    throw new TargetVersionUnavailable(
      `NetBox Cloud restore job ${job.id} failed at ${job.failed}: the target instance ${previous.targetInstanceId} cannot run the NetBox version of this backup (target version not available).`,
    );
  }
  const checksSinceCompleted = job.completed ? previous.checksSinceCompleted + 1 : 0;
  return {
    ...previous,
    status: restoreProgress(job, checksSinceCompleted),
    failedAt: job.failed ?? null,
    completedAt: job.completed ?? null,
    redeployedAt: job.nb_redeployed ?? null,
    checksSinceCompleted,
    poll: advancePoll(previous.poll, target.poll),
  };
}
