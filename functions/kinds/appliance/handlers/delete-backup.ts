import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { applianceTarget, targetName } from './clients';

/** DeleteBackup: DELETE items/{id}, for one backup the prune plan chose. */
export const handler = lambdaHandler(z.object({ target: targetName, backupId: z.string().min(1) }), async (event) => {
  const { client } = await applianceTarget(event.target);
  await client.deleteBackup(event.backupId);
  return { deleted: event.backupId };
});
