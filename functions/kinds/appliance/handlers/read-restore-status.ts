import { z } from 'zod';
import { readRestoreBaseline } from '../restore-run';
import { lambdaHandler } from '../../../middleware/middleware';
import { applianceTarget, targetName } from './clients';

/** ReadRestoreStatusBefore: the previous restore's time, so its status is not mistaken for this one's. */
export const handler = lambdaHandler(z.object({ target: targetName }), async (event) => {
  const { client } = await applianceTarget(event.target);
  return readRestoreBaseline(client);
});
