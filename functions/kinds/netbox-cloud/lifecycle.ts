import type { NetboxCloudTarget } from './config';
import { BackupNotFound, InvalidInput, RequestOutcomeUnknown, TransientApiError, VendorApiError } from '../../shared/errors';
import { RetrievalExpired, RetrievalNotFound, TargetVersionUnavailable } from './errors';
import { advancePoll, startPoll, type PollState } from '../../shared/poll';
import type { Backup, BackupRequest, NetboxCloudClient, RestoreJob, Retrieval } from './client';

// The NetBox Cloud backup and restore steps, one vendor call each (a listing walks all
// its pages). Handlers call these with a client and a clock; nothing here touches AWS.

import type { Clock } from '../../shared/clock';

export type { Clock } from '../../shared/clock';

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

/** Slack around the request's own timestamps when matching by time (clock skew, queueing). */
const MATCH_SLACK_MS = 5 * 60 * 1000;

// ---------------------------------------------------------------- creating calls

/**
 * A creating call (request a backup, a retrieval, a restore) is made once. When its answer
 * does not say whether NetBox Cloud acted — a 5xx (often a gateway's), a timeout, a
 * dropped connection, a 2xx without an id — the step returns no id, the time taken just
 * before the call and what came back; the next checks look for what the call may have
 * created and adopt it. A 429 is RateLimited (not acted on: the state machine repeats
 * the call); any other answer is passed on as it is.
 */
async function createOnce(call: () => Promise<string | undefined>): Promise<{ id: string | null; ambiguousAnswer: string | null }> {
  try {
    const id = await call();
    return id === undefined ? { id: null, ambiguousAnswer: 'NetBox Cloud answered 2xx without an id' } : { id, ambiguousAnswer: null };
  } catch (error) {
    // On a creating call the client makes a 429 RateLimited, so every TransientApiError
    // left is a 5xx, a timeout or a dropped connection: the vendor may have acted.
    if (error instanceof TransientApiError) return { id: null, ambiguousAnswer: error.message };
    throw error;
  }
}

/**
 * Checks that look for what an ambiguous answer may have created before concluding that
 * nothing was. The document does not say how soon a new item is listed; an answer lost
 * on its way back leaves the item listed at once, while after a timeout the vendor may
 * still be working on the call, so the poll's backoff between the checks gives it time.
 */
export const UNCONFIRMED_LOOKUPS = 3;

/**
 * Whether a vendor `created` time is "since the request". requestedAt is our clock, read
 * just before the call; `created` is NetBox Cloud's, and the document says nothing of how
 * the two compare. So that a vendor clock running behind ours cannot hide what our call
 * created, anything created up to MATCH_SLACK_MS before requestedAt counts. The price: a
 * same-kind item someone else made in those minutes may be adopted — it does what ours
 * would have done. An item without a creation time cannot be told from an older one.
 */
function createdSince(created: string | null | undefined, requestedAt: string): boolean {
  const time = created ? Date.parse(created) : NaN;
  return !Number.isNaN(time) && time >= Date.parse(requestedAt) - MATCH_SLACK_MS;
}

/**
 * Which listed item is ours: by id once known; before that, the newest candidate created
 * since the request. Several candidates mean someone else made the same thing meanwhile:
 * each does what ours would, and the newest is the likeliest to be ours.
 */
function ours<T extends { id: string; created?: string | null }>(id: string | null, requestedAt: string, candidate: (item: T) => boolean) {
  const matches = id !== null ? (item: T) => item.id === id : (item: T) => candidate(item) && createdSince(item.created, requestedAt);
  const pick = (items: readonly T[]): T | undefined =>
    id !== null ? items.find(matches) : items.filter(matches).sort((a, b) => Date.parse(b.created ?? '') - Date.parse(a.created ?? ''))[0];
  return { matches, pick };
}

/** Another check with nothing found yet, or RequestOutcomeUnknown once the lookups (or the poll budget) are spent. */
function keepLooking<State extends { poll: PollState }>(previous: State, poll: PollState, unknown: () => RequestOutcomeUnknown): State {
  if (poll.attempt >= UNCONFIRMED_LOOKUPS || poll.exhausted) throw unknown();
  return { ...previous, poll };
}

/** The earliest `created` counted as since the request, for messages. */
function windowOpensAt(requestedAt: string): string {
  return new Date(Date.parse(requestedAt) - MATCH_SLACK_MS).toISOString();
}

// ---------------------------------------------------------------- backup requests

export interface BackupRequestState {
  /** null until the request is identified, after an answer that did not name it. */
  readonly requestId: string | null;
  readonly requestedAt: string;
  /** What came back instead of an id (5xx, timeout, dropped connection), shortened; null when the answer named it. */
  readonly ambiguousAnswer: string | null;
  readonly status: Progress;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly poll: PollState;
}

export async function requestBackup(client: Pick<NetboxCloudClient, 'requestBackup'>, target: NetboxCloudTarget, clock: Clock): Promise<BackupRequestState> {
  const requestedAt = clock().toISOString();
  const { id, ambiguousAnswer } = await createOnce(() => client.requestBackup(target.instanceId));
  return { requestId: id, requestedAt, ambiguousAnswer, status: 'pending', startedAt: null, completedAt: null, poll: startPoll(target.poll) };
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

/** Reads the request's progress; one not yet identified is looked for among the instance's requests made since. */
export async function checkBackupRequest(
  client: Pick<NetboxCloudClient, 'listBackupRequests'>,
  target: NetboxCloudTarget,
  previous: BackupRequestState,
): Promise<BackupRequestState> {
  const seek = ours<BackupRequest>(previous.requestId, previous.requestedAt, (item) => item.obj_id === target.instanceId);
  const request = seek.pick(await client.listBackupRequests({ seek: seek.matches }));
  const poll = advancePoll(previous.poll, target.poll);
  if (!request) {
    if (previous.requestId !== null) {
      throw new VendorApiError(`NetBox Cloud does not list backup request ${previous.requestId} (made at ${previous.requestedAt}).`);
    }
    return keepLooking(
      previous,
      poll,
      () =>
        new RequestOutcomeUnknown(
          `The backup request for ${target.instanceId} got no clear answer (${previous.ambiguousAnswer}), and after ${poll.attempt} checks NetBox Cloud lists no backup request of ${target.instanceId} created since ${windowOpensAt(previous.requestedAt)}: the backup may or may not have been requested; check backup requests in NetBox Cloud before requesting another.`,
        ),
    );
  }
  return {
    ...previous,
    requestId: request.id,
    status: requestProgress(request),
    startedAt: request.started ?? null,
    completedAt: request.completed ?? null,
    poll,
  };
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

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
  const { requestId } = request;
  if (requestId === null) throw new VendorApiError(`The backup request made at ${request.requestedAt} has not been identified; there is no backup to look for yet.`);
  const requestedAt = new Date(request.requestedAt);
  const since = new Date(requestedAt.getTime() - 24 * 60 * 60 * 1000);
  const producedByTrigger = (backup: Backup): boolean => backup.trigger_id === requestId;
  const backups = await client.listBackups({ initialDate: utcDay(since), seek: producedByTrigger });
  const byTrigger = backups.filter(producedByTrigger);
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
  /** null until the retrieval is identified, after an answer that did not name it. */
  readonly retrievalId: string | null;
  readonly backupId: string;
  readonly requestedAt: string;
  /** What came back instead of an id (5xx, timeout, dropped connection), shortened; null when the answer named it. */
  readonly ambiguousAnswer: string | null;
  readonly status: Progress;
  readonly expiresAt: string | null;
  readonly poll: PollState;
}

export async function requestRetrieval(client: Pick<NetboxCloudClient, 'requestRetrieval'>, target: NetboxCloudTarget, backupId: string, clock: Clock): Promise<RetrievalState> {
  const requestedAt = clock().toISOString();
  const { id, ambiguousAnswer } = await createOnce(() => client.requestRetrieval(backupId));
  return { retrievalId: id, backupId, requestedAt, ambiguousAnswer, status: 'pending', expiresAt: null, poll: startPoll(target.poll) };
}

/** A retrieval counts as complete only once its download link is there too. */
function retrievalProgress(retrieval: Retrieval): Progress {
  if (retrieval.failed) return 'failed';
  return retrieval.completed && retrieval.presigned_url ? 'completed' : 'pending';
}

/** Reads the retrieval's progress; one not yet identified is looked for among this backup's retrievals made since. */
export async function checkRetrieval(client: Pick<NetboxCloudClient, 'listRetrievals'>, target: NetboxCloudTarget, previous: RetrievalState): Promise<RetrievalState> {
  const seek = ours<Retrieval>(previous.retrievalId, previous.requestedAt, (item) => item.backup_id === previous.backupId);
  const retrieval = seek.pick(await client.listRetrievals({ seek: seek.matches }));
  const poll = advancePoll(previous.poll, target.poll);
  if (!retrieval) {
    if (previous.retrievalId !== null) throw new RetrievalNotFound(`NetBox Cloud does not list retrieval ${previous.retrievalId}.`);
    return keepLooking(
      previous,
      poll,
      () =>
        new RequestOutcomeUnknown(
          `The retrieval request for backup ${previous.backupId} got no clear answer (${previous.ambiguousAnswer}), and after ${poll.attempt} checks NetBox Cloud lists no retrieval of it created since ${windowOpensAt(previous.requestedAt)}: the retrieval may or may not have been requested; check retrievals in NetBox Cloud before requesting another.`,
        ),
    );
  }
  return { ...previous, retrievalId: retrieval.id, status: retrievalProgress(retrieval), expiresAt: retrieval.expires ?? null, poll };
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
  const retrieval = findById(await client.listRetrievals({ seek: (item) => item.id === retrievalId }), retrievalId);
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
  const reusable = (retrieval: Retrieval): boolean => retrieval.backup_id === backupId && usable(retrieval, now);
  const candidates = (await client.listRetrievals({ seek: reusable }))
    .filter(reusable)
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
  // "latest" needs every backup; an id needs only that one.
  const backups = await client.listBackups(backupId === LATEST ? {} : { seek: (backup) => backup.id === backupId });
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
  /** null until the job is identified, after an answer that did not name it. */
  readonly restoreJobId: string | null;
  readonly retrievalId: string;
  readonly targetInstanceId: string;
  readonly requestedAt: string;
  /** What came back instead of a job id (5xx, timeout, dropped connection), shortened; null when the answer named it. */
  readonly ambiguousAnswer: string | null;
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

export async function requestRestore(
  client: Pick<NetboxCloudClient, 'requestRestore'>,
  target: NetboxCloudTarget,
  retrievalId: string,
  targetInstanceId: string,
  clock: Clock,
): Promise<RestoreState> {
  validateInstanceId(targetInstanceId, 'targetInstanceId');
  const requestedAt = clock().toISOString();
  const { id, ambiguousAnswer } = await createOnce(() => client.requestRestore(retrievalId, targetInstanceId));
  return {
    restoreJobId: id,
    retrievalId,
    targetInstanceId,
    requestedAt,
    ambiguousAnswer,
    status: 'pending',
    failedAt: null,
    completedAt: null,
    redeployedAt: null,
    checksSinceCompleted: 0,
    poll: startPoll(target.poll),
  };
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

/** Reads the job's progress; one not yet identified is looked for among the target's restore jobs of this retrieval made since. */
export async function checkRestore(client: Pick<NetboxCloudClient, 'listRestoreJobs'>, target: NetboxCloudTarget, previous: RestoreState): Promise<RestoreState> {
  const { targetInstanceId } = previous;
  const seek = ours<RestoreJob>(previous.restoreJobId, previous.requestedAt, (job) => job.retrieval_id === previous.retrievalId && job.target_nb_id === targetInstanceId);
  const job = seek.pick(await client.listRestoreJobs({ targetInstanceId, seek: seek.matches }));
  const poll = advancePoll(previous.poll, target.poll);
  if (!job) {
    if (previous.restoreJobId !== null) throw new VendorApiError(`NetBox Cloud does not list restore job ${previous.restoreJobId} for ${targetInstanceId}.`);
    return keepLooking(
      previous,
      poll,
      () =>
        new RequestOutcomeUnknown(
          `The restore request got no clear answer (${previous.ambiguousAnswer}), and after ${poll.attempt} checks NetBox Cloud lists no restore job of retrieval ${previous.retrievalId} onto ${targetInstanceId} created since ${windowOpensAt(previous.requestedAt)}: the restore may or may not have started; check restore jobs for ${targetInstanceId} in NetBox Cloud before starting another.`,
        ),
    );
  }
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
    restoreJobId: job.id,
    checksSinceCompleted,
    poll,
  };
}
