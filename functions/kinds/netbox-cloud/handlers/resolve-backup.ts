import { z } from 'zod';
import { resolveBackup } from '../lifecycle';
import { lambdaHandler } from '../../../middleware/middleware';
import { netboxCloudTarget, targetName } from './clients';

/** ResolveBackup: a backup id, or "latest", becomes one listed backup of the target. */
export const handler = lambdaHandler(z.object({ target: targetName, backupId: z.string().min(1, 'expected a backup id or "latest"') }), async (event) => {
  const { target, client } = await netboxCloudTarget(event.target);
  return resolveBackup(client, target, event.backupId);
});
