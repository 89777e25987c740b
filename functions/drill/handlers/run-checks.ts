import { z } from 'zod';
import { findTarget } from '../../config/load';
import { lambdaHandler } from '../../middleware/middleware';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { systemClock } from '../../shared/clock';
import { runDrillChecks } from '../checks';
import type { DrillCopy } from '../rules';

/** RunChecks: the kind's checks of the restored destination; a check that fails is a result, not an error. */
export const handler = lambdaHandler(
  z.object({ target: z.string().min(1), copy: z.looseObject({ sourceBackupId: z.string() }), output: z.unknown() }),
  async (event) => {
    const startedAt = systemClock().toISOString();
    const config = await loadRuntimeConfig();
    const results = await runDrillChecks(config, findTarget(config, event.target), event.copy as unknown as DrillCopy, event.output);
    return { startedAt, finishedAt: systemClock().toISOString(), results };
  },
);
