import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { planRetentionFor } from '../retention';
import { archiveLocation, targetName, vpsTarget } from './clients';

/** PlanRetention: offsite's retention over the manual backups offsite made (its catalogue records), against what the provider still holds. */
export const handler = lambdaHandler(z.object({ target: targetName }), async (event) => {
  const { config, target, client } = await vpsTarget(event.target);
  const plan = await planRetentionFor(client, archiveLocation(config), target, config.timezone);
  return { remove: plan.remove, kept: plan.copies.filter((copy) => copy.decision !== 'remove').length };
});
