import { z } from 'zod';
import { findTarget } from '../../config/load';
import { lambdaHandler } from '../../middleware/middleware';
import { archiveClient } from '../../runtime/archive-client';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { logger } from '../../runtime/logger';
import { systemClock } from '../../shared/clock';
import { pruneArchive, pruneStepSummary } from '../prune';

/** PruneArchive: the target's retention applied to its archived copies, after the new copy is verified. */
export const handler = lambdaHandler(z.object({ target: z.string().min(1, 'expected the name of a configured target') }), async (event) => {
  const config = await loadRuntimeConfig();
  const target = findTarget(config, event.target);
  const outcome = await pruneArchive({
    s3: archiveClient(config.archive),
    bucket: config.archive.bucket,
    prefix: config.archive.prefix,
    target: target.name,
    policy: 'retention' in target ? target.retention : undefined,
    timezone: config.timezone,
    objectLock: config.archive.objectLock !== undefined,
    dryRun: false,
    now: systemClock(),
  });
  const summary = pruneStepSummary(outcome);
  logger.info('archive pruned', { target: target.name, kept: summary.kept.count, removed: summary.removed.count, removalFailed: summary.removalFailed.count });
  return summary;
});
