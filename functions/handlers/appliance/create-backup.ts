import { z } from 'zod';
import { createBackup } from '../../appliance/lifecycle';
import { lambdaHandler } from '../middleware';
import { applianceTarget, targetName } from './events';

/** RequestBackup: POST backups with a description that marks it as made by offsite. A full disk fails as ApplianceStorageFull. */
export const handler = lambdaHandler(z.object({ target: targetName, executionName: z.string().min(1) }), async (event) => {
  const { target, client } = await applianceTarget(event.target);
  return createBackup(client, target, event.executionName);
});
