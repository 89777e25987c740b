import { z } from 'zod';
import { requestRetrieval } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { clock, netboxCloudTarget, targetName } from './clients';

/** RequestRetrieval: POST backup-retrieved for one backup, once; an ambiguous answer leaves the retrieval to be looked up by CheckRetrieval. */
export const handler = lambdaHandler(z.object({ target: targetName, backupId: z.string().min(1) }), async (event) => {
  const { target, client } = await netboxCloudTarget(event.target);
  return requestRetrieval(client, target, event.backupId, clock);
});
