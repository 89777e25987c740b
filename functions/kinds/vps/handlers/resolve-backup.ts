import { z } from 'zod';
import { lambdaHandler } from '../../../handlers/middleware';
import { resolveRestoreBackup } from '../lifecycle';
import { targetName, vpsTarget } from './events';

/** ResolveBackup: backupId or "latest" (newest completed backup of the server, any type); another server's or an unfinished backup is refused. */
export const handler = lambdaHandler(z.object({ target: targetName, backupId: z.string().min(1) }), async (event) => {
  const { target, client } = await vpsTarget(event.target);
  return resolveRestoreBackup(client, target, event.backupId);
});
