import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { removeOwnBackup } from '../retention';
import { archiveLocation, removal, targetName, vpsTarget } from './clients';

/** DeleteOwnBackup: DELETE backups/{id}/ of one offsite-made backup retention let go (gone already is fine), then its catalogue record. */
export const handler = lambdaHandler(z.object({ target: targetName, removal }), async (event) => {
  const { config, client } = await vpsTarget(event.target);
  return removeOwnBackup(client, archiveLocation(config), event.removal);
});
