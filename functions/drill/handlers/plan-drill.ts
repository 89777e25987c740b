import { z } from 'zod';
import { listArchivedCopies } from '../../archive/listing';
import { readVerifications } from '../../archive/verify-records';
import { findTarget } from '../../config/load';
import { lambdaHandler } from '../../middleware/middleware';
import { primaryPlace, secondaryPlace } from '../../archive/places';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { systemClock } from '../../shared/clock';
import { planDrill } from '../plan';

/** PlanDrill: refuses a destination that is the production target (DrillRefused) before any call, then picks the newest verified copy and the restore's input. */
export const handler = lambdaHandler(z.object({ target: z.string().min(1, 'expected the name of a configured target') }), async (event) => {
  const config = await loadRuntimeConfig();
  const target = findTarget(config, event.target);
  const primary = primaryPlace(config);
  const { s3, bucket, prefix } = primary;
  const [listing, records] = await Promise.all([listArchivedCopies(s3, bucket, prefix, target.name), readVerifications(s3, bucket, prefix, target.name)]);
  // A backup whose primary copy is missing or found bad is drilled from the secondary, as a restore would be.
  const secondary = await secondaryPlace(config);
  const secondaryCopies = secondary
    ? {
        primary,
        secondary,
        listing: await listArchivedCopies(secondary.s3, secondary.bucket, secondary.prefix, target.name),
        records: await readVerifications(secondary.s3, secondary.bucket, secondary.prefix, target.name),
      }
    : undefined;
  return planDrill(config, target, listing, records, systemClock(), secondaryCopies);
});
