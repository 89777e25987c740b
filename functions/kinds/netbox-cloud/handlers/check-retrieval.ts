import { z } from 'zod';
import { checkRetrieval } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { netboxCloudTarget, retrievalState, targetName } from './clients';

/** CheckRetrieval: is the download link ready? Returns status and expiry, never the link itself. */
export const handler = lambdaHandler(z.object({ target: targetName, retrieval: retrievalState }), async (event) => {
  const { target, client } = await netboxCloudTarget(event.target);
  return checkRetrieval(client, target, event.retrieval);
});
