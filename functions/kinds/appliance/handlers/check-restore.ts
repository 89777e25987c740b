import { z } from 'zod';
import { checkRestore } from '../restore-run';
import { lambdaHandler } from '../../../handlers/middleware';
import { applianceTarget, clock, pollState, targetName } from './events';

const restoreInProgress = z.object({
  requestedAt: z.number(),
  acknowledged: z.boolean(),
  note: z.string().nullable(),
  previousRestoreTime: z.number(),
  previousStatus: z.string().nullable(),
  // Defaults for an execution started before these were carried.
  restoreTime: z.number().nullable().default(null),
  seenThisRestore: z.boolean().default(false),
  unreachableChecks: z.number().int().nonnegative(),
  poll: pollState,
});

/** CheckRestore: restore_status through the reboot; completed_with_errors and failed fail as RestoreFailed. */
export const handler = lambdaHandler(z.object({ target: targetName, restore: restoreInProgress }), async (event) => {
  const { target, client } = await applianceTarget(event.target);
  const progress = await checkRestore(client, target, event.restore, event.restore, clock);
  // Carry what the next check needs along with what this one saw.
  const { requestedAt, acknowledged, note, previousRestoreTime, previousStatus } = event.restore;
  return { requestedAt, acknowledged, note, previousRestoreTime, previousStatus, ...progress };
});
