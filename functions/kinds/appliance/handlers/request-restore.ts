import { z } from 'zod';
import { requestRestore, startRestorePoll } from '../restore-run';
import { lambdaHandler } from '../../../handlers/middleware';
import { applianceTarget, clock, targetName } from './events';

/** RequestRestore: POST items/{id}/restore. The appliance reboots; restore_status is read afterwards. */
export const handler = lambdaHandler(
  z.object({
    target: targetName,
    backupId: z.string().min(1),
    baseline: z.object({ previousRestoreTime: z.number(), previousStatus: z.string().nullable() }),
  }),
  async (event) => {
    const { target, client } = await applianceTarget(event.target);
    const started = await requestRestore(client, event.backupId, event.baseline, clock);
    return { ...event.baseline, ...started, phase: 'requested', unreachableChecks: 0, seenThisRestore: false, poll: startRestorePoll(target) };
  },
);
