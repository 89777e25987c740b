import { z } from 'zod';
import { listArchivedCopies } from '../../archive/listing';
import { readVerifications } from '../../archive/verify-records';
import { findTarget } from '../../config/load';
import { lambdaHandler } from '../../middleware/middleware';
import { archiveClient } from '../../runtime/archive-client';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { systemClock } from '../../shared/clock';
import { planDrill } from '../plan';

/** PlanDrill: refuses a destination that is the production target (DrillRefused) before any call, then picks the newest verified copy and the restore's input. */
export const handler = lambdaHandler(z.object({ target: z.string().min(1, 'expected the name of a configured target') }), async (event) => {
  const config = await loadRuntimeConfig();
  const target = findTarget(config, event.target);
  const s3 = archiveClient(config.archive);
  const { bucket, prefix } = config.archive;
  const [listing, records] = await Promise.all([listArchivedCopies(s3, bucket, prefix, target.name), readVerifications(s3, bucket, prefix, target.name)]);
  return planDrill(config, target, listing, records, systemClock());
});
