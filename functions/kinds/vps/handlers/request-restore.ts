import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { requestRestore } from '../lifecycle';
import { clock, restoreBackup, targetName, vpsTarget } from './clients';

/** RequestRestore: POST servers/{id}/restore/, once. A 409 fails as RestoreInProgress; an ambiguous answer is followed through the server's status. */
export const handler = lambdaHandler(z.object({ target: targetName, backup: restoreBackup }), async (event) => {
  const { target, client } = await vpsTarget(event.target);
  return requestRestore(client, target, event.backup, clock);
});
