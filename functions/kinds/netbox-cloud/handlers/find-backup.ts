import { z } from 'zod';
import { findProducedBackup } from '../lifecycle';
import { lambdaHandler } from '../../../handlers/middleware';
import { backupRequestState, clock, netboxCloudTarget, targetName } from './events';

/** FindBackup: the backup this request produced, matched across every page of the list. */
export const handler = lambdaHandler(z.object({ target: targetName, request: backupRequestState }), async (event) => {
  const { target, client } = await netboxCloudTarget(event.target);
  return findProducedBackup(client, target, event.request, clock);
});
