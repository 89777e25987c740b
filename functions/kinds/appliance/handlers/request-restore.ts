import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { requestRestore, restoreRequested, restoreRunState } from '../restore-run';
import { applianceTarget, clock, targetName } from './clients';

/** RequestRestore: POST items/{id}/restore. The appliance reboots; restore_status is read afterwards. */
export const handler = lambdaHandler(
  z.object({ target: targetName, backupId: z.string().min(1), baseline: restoreRunState.pick({ previousRestoreTime: true, previousStatus: true }) }),
  async (event) => {
    const { target, client } = await applianceTarget(event.target);
    return restoreRequested(target, event.baseline, await requestRestore(client, event.backupId, event.baseline, clock));
  },
);
