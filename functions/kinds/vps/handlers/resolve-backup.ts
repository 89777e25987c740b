import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { resolveRestoreBackup } from '../lifecycle';
import { targetName, vpsTarget } from './clients';

/** ResolveBackup: backupId or "latest" (newest completed backup of the server, any type); another server's or an unfinished backup is refused. */
export const handler = lambdaHandler(
  // request: the execution input; targetServerId there is a drill's destination (only the configured drill.to is accepted).
  z.object({ target: targetName, backupId: z.string().min(1), request: z.looseObject({ targetServerId: z.number().int().positive().optional() }).optional() }),
  async (event) => {
    const { target, client } = await vpsTarget(event.target);
    return resolveRestoreBackup(client, target, event.backupId, event.request?.targetServerId);
  },
);
