import { z } from 'zod';
import { checkBackupRequest } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { backupRequestState, netboxCloudTarget, targetName } from './clients';

/** CheckBackupRequest: has the request completed? Also advances the poll loop's backoff. */
export const handler = lambdaHandler(z.object({ target: targetName, request: backupRequestState }), async (event) => {
  const { target, client } = await netboxCloudTarget(event.target);
  return checkBackupRequest(client, target, event.request);
});
