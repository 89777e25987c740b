import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { checkRestore } from '../lifecycle';
import { restoreState, targetName, vpsTarget } from './clients';

/** CheckRestore: GET servers/{id}/ and reads its status (the words are in server-status.ts). */
export const handler = lambdaHandler(z.object({ target: targetName, restore: restoreState }), async (event) => {
  const { target, client } = await vpsTarget(event.target);
  return checkRestore(client, target, event.restore);
});
