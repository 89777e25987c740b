import { z } from 'zod';
import type { PollPolicy } from '../../config/schema';
import type { Clock } from '../../shared/clock';
import { RestoreFailed, RestoreInProgress, TransientApiError } from '../../shared/errors';
import { RebootWindowExceeded } from './errors';
import { advancePoll, pollStateSchema, startPoll, type PollState } from '../../shared/poll';
import type { ApplianceClient, RestoreStatus } from './client';
import type { ApplianceTarget } from './config';

export type { Clock } from '../../shared/clock';

/** What the restore run carries from RequestRestore through every CheckRestore: one schema, checked at each Task. */
export const restoreRunState = z.object({
  /** last_restore_time before this restore: a status at or before it is the previous restore's. */
  previousRestoreTime: z.number(),
  previousStatus: z.string().nullable(),
  /** Epoch seconds, our clock, just before the POST. */
  requestedAt: z.number(),
  /** False when the answer to the POST was lost (the appliance may already be rebooting). */
  acknowledged: z.boolean(),
  note: z.string().nullable(),
  /** This restore's last_restore_time: from the answer to the POST, else from the first status that was this restore's. */
  restoreTime: z.number().nullable().default(null),
  /** A restore_status read since the request has been this restore's: the status service has moved on from the previous one. */
  seenThisRestore: z.boolean().default(false),
  /** requested, then rebooting (unreachable), waiting (old status still shown), restoring (started/not_run), completed. */
  phase: z.enum(['requested', 'rebooting', 'waiting', 'restoring', 'completed']),
  status: z.string().nullable().default(null),
  statusMessage: z.string().nullable().default(null),
  lastRestoreTime: z.number().nullable().default(null),
  unreachableChecks: z.number().int().nonnegative(),
  poll: pollStateSchema,
});
export type RestoreRunState = z.infer<typeof restoreRunState>;

export type RestoreBaseline = Pick<RestoreRunState, 'previousRestoreTime' | 'previousStatus'>;

export async function readRestoreBaseline(client: ApplianceClient): Promise<RestoreBaseline> {
  const status = await client.restoreStatus();
  return { previousRestoreTime: status.last_restore_time ?? 0, previousStatus: status.status ?? null };
}

export type RestoreStarted = Pick<RestoreRunState, 'requestedAt' | 'acknowledged' | 'note' | 'restoreTime'>;

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

export type RestoreProgress = Pick<RestoreRunState, 'status' | 'statusMessage' | 'lastRestoreTime' | 'unreachableChecks' | 'restoreTime' | 'seenThisRestore' | 'poll'> & {
  readonly phase: Exclude<RestoreRunState['phase'], 'requested'>;
};

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

/** The state after RequestRestore: the baseline, what the request learnt, and a fresh poll. */
export function restoreRequested(target: ApplianceTarget, baseline: RestoreBaseline, started: RestoreStarted): RestoreRunState {
  return { ...baseline, ...started, phase: 'requested', status: null, statusMessage: null, lastRestoreTime: null, unreachableChecks: 0, seenThisRestore: false, poll: startRestorePoll(target) };
}

/** One CheckRestore: the state carried on, with what this check saw. */
export async function nextRestoreState(client: ApplianceClient, target: ApplianceTarget, state: RestoreRunState, clock: Clock): Promise<RestoreRunState> {
  return { ...state, ...(await checkRestore(client, target, state, state, clock)) };
}
