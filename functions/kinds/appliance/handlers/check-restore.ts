import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { nextRestoreState, restoreRunState } from '../restore-run';
import { applianceTarget, clock, targetName } from './clients';

/** CheckRestore: restore_status through the reboot; completed_with_errors and failed fail as RestoreFailed. */
export const handler = lambdaHandler(z.object({ target: targetName, restore: restoreRunState }), async (event) => {
  const { target, client } = await applianceTarget(event.target);
  return nextRestoreState(client, target, event.restore, clock);
});
