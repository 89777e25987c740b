import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { checkBackup } from '../lifecycle';
import { backupState, targetName, vpsTarget } from './clients';

/** CheckBackup: lists the server's manual backups and reads ours (by id, or by description while unidentified). */
export const handler = lambdaHandler(z.object({ target: targetName, backup: backupState }), async (event) => {
  const { target, client } = await vpsTarget(event.target);
  return checkBackup(client, target, event.backup);
});
