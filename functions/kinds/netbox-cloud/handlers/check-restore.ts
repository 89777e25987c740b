import { z } from 'zod';
import { checkRestore } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { netboxCloudTarget, restoreState, targetName } from './clients';

/** CheckRestore: completed (and redeployed), failed, or still running. */
export const handler = lambdaHandler(z.object({ target: targetName, restore: restoreState }), async (event) => {
  const { target, client } = await netboxCloudTarget(event.target);
  return checkRestore(client, target, event.restore);
});
