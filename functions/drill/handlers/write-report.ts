import { z } from 'zod';
import { lambdaHandler } from '../../middleware/middleware';
import { archiveClient } from '../../runtime/archive-client';
import { encryptionParams, primaryPlace } from '../../archive/places';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { logger } from '../../runtime/logger';
import { MetricUnit, publishMetrics } from '../../runtime/metrics';
import { systemClock } from '../../shared/clock';
import { buildDrillReport, writeDrillReport, type DrillResult } from '../report';

const failure = z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() });

/** WriteReport: the drill report into <prefix><target>/drills/, and its outcome for the state machine's last Choice. */
export const handler = lambdaHandler(
  z.object({
    executionName: z.string().min(1),
    plan: z.looseObject({ target: z.string(), startedAt: z.string() }),
    restoreError: failure.nullish(),
    checks: z.looseObject({ startedAt: z.string(), finishedAt: z.string(), results: z.array(z.looseObject({})) }).nullish(),
    checksError: failure.nullish(),
  }),
  async (event) => {
    const config = await loadRuntimeConfig();
    const report = buildDrillReport({ ...(event as unknown as DrillResult), execution: event.executionName }, systemClock());
    const key = await writeDrillReport(archiveClient(config.archive), config.archive.bucket, config.archive.prefix, report, encryptionParams(primaryPlace(config)));
    logger.info('drill reported', { target: report.target, outcome: report.outcome, key, failedChecks: report.failedChecks });
    publishMetrics({ Drill: report.kind }, [
      { name: 'DrillPassed', unit: MetricUnit.Count, value: report.outcome === 'passed' ? 1 : 0 },
      { name: 'DrillRestoreSeconds', unit: MetricUnit.Seconds, value: report.phases.restore.durationMs / 1000 },
    ]);
    return { key, outcome: report.outcome, summary: report.summary, failedChecks: report.failedChecks, report };
  },
);
