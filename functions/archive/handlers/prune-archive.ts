import { z } from 'zod';
import { findTarget } from '../../config/load';
import { lambdaHandler } from '../../middleware/middleware';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { logger } from '../../runtime/logger';
import { systemClock } from '../../shared/clock';
import { archivePlaces } from '../places';
import { placesStepSummary, prunePlaces } from '../prune';

/** PruneArchive: the target's retention applied to its archived copies in every place (primary, then secondary), after the new copy is verified. */
export const handler = lambdaHandler(z.object({ target: z.string().min(1, 'expected the name of a configured target') }), async (event) => {
  const config = await loadRuntimeConfig();
  const target = findTarget(config, event.target);
  const outcomes = await prunePlaces(await archivePlaces(config), {
    target: target.name,
    policy: 'retention' in target ? target.retention : undefined,
    timezone: config.timezone,
    dryRun: false,
    now: systemClock(),
  });
  const summary = placesStepSummary(outcomes);
  // removalFailed counts both places; kept and removed are the primary's, the secondary's beside them.
  const secondary = 'secondary' in summary ? { secondaryKept: summary.secondary.kept.count, secondaryRemoved: summary.secondary.removed.count } : {};
  logger.info('archive pruned', { target: target.name, kept: summary.kept.count, removed: summary.removed.count, removalFailed: summary.removalFailed.count, ...secondary });
  return summary;
});
