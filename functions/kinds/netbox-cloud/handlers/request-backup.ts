import { z } from 'zod';
import { requestBackup } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { clock, netboxCloudTarget, targetName } from './clients';

/** RequestBackup: POST backup-requests for the target's instance, once; an ambiguous answer leaves the request to be looked up by CheckBackupRequest. */
export const handler = lambdaHandler(z.object({ target: targetName }), async (event) => {
  const { target, client } = await netboxCloudTarget(event.target);
  return requestBackup(client, target, clock);
});
