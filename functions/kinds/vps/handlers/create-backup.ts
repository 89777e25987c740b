import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { createBackup } from '../lifecycle';
import { clock, executionName, targetName, vpsTarget } from './clients';

/** CreateBackup: POST backups/ (a manual backup described as offsite's, with target and execution), once; an ambiguous answer leaves the backup to be looked up by CheckBackup. */
export const handler = lambdaHandler(z.object({ target: targetName, executionName }), async (event) => {
  const { target, client } = await vpsTarget(event.target);
  return createBackup(client, target, event.executionName, clock);
});
