import { z } from 'zod';
import { findReusableRetrieval } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { clock, netboxCloudTarget, targetName } from './clients';

/** FindReusableRetrieval: a completed retrieval of this backup whose link is still valid. */
export const handler = lambdaHandler(z.object({ target: targetName, backupId: z.string().min(1) }), async (event) => {
  const { client } = await netboxCloudTarget(event.target);
  return findReusableRetrieval(client, event.backupId, clock);
});
