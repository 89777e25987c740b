import { z } from 'zod';
import { listArchivedCopies } from '../../../archive/listing';
import { planPrune } from '../prune';
import { archiveClient } from '../../../runtime/archive-client';
import { logger } from '../../../runtime/logger';
import { lambdaHandler } from '../../../middleware/middleware';
import { applianceTarget, targetName } from './clients';

/** PlanPrune: which offsite-made backups to delete from the appliance (only those with a verified archive copy). */
export const handler = lambdaHandler(z.object({ target: targetName }), async (event) => {
  const { config, target, client } = await applianceTarget(event.target);
  const [backups, archive] = await Promise.all([
    client.listBackups(),
    listArchivedCopies(archiveClient(config.archive), config.archive.bucket, config.archive.prefix, target.name),
  ]);
  const plan = planPrune(backups, archive, target.applianceKeep);
  logger.info('appliance prune plan', { target: target.name, applianceKeep: target.applianceKeep, ...plan });
  return plan;
});
