import { z } from 'zod';
import { requestRestore } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { clock, netboxCloudTarget, targetName } from './clients';

/** RequestRestore: POST backup-restore, once. A 422 fails as TargetVersionUnavailable; an ambiguous answer leaves the job to be looked up by CheckRestore. */
export const handler = lambdaHandler(
  z.object({ target: targetName, retrievalId: z.string().min(1), targetInstanceId: z.string().min(1) }),
  async (event) => {
    const { target, client } = await netboxCloudTarget(event.target);
    return requestRestore(client, target, event.retrievalId, event.targetInstanceId, clock);
  },
);
