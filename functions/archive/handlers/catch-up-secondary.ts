import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { lambdaHandler } from '../../middleware/middleware';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { logger } from '../../runtime/logger';
import { MetricUnit, publishMetrics } from '../../runtime/metrics';
import { systemClock } from '../../shared/clock';
import { fitList, raiseAlarm } from '../freshness';
import { SECONDARY_CATCH_UP_ALARM_ENV, verifySettings } from '../freshness-names';
import { primaryPlace, secondaryPlace } from '../places';
import { catchUpSecondary, NO_SECONDARY_REASON } from '../secondary-copy';

/** Time kept back from the 15-minute limit for the copy in progress to finish. */
const MARGIN_MS = 5 * 60_000;
const LIMIT_MS = 15 * 60_000;
const GIB = 1024 ** 3;

/**
 * CatchUpSecondary (scheduled, with the verify's schedule): copies the archived copies the
 * secondary lacks, newest first, up to the verify's byte budget per run; alarms naming
 * the copies it could not make.
 */
export const handler = lambdaHandler(z.looseObject({}), async () => {
  const config = await loadRuntimeConfig();
  const secondary = await secondaryPlace(config);
  if (!secondary) {
    logger.info('no catch-up', { reason: NO_SECONDARY_REASON });
    return { secondary: null, reason: NO_SECONDARY_REASON };
  }
  const started = systemClock();
  const summary = await catchUpSecondary(
    primaryPlace(config),
    secondary,
    config.targets.map((target) => target.name),
    systemClock,
    { budgetBytes: verifySettings(config.archive).maxGiBPerRun * GIB, deadline: new Date(started.getTime() + LIMIT_MS - MARGIN_MS) },
  );
  logger.info('secondary caught up', { copied: summary.copied.length, bytes: summary.bytes, remaining: summary.remaining, failed: summary.failed });
  publishMetrics({ Job: 'secondary-catch-up' }, [
    { name: 'SecondaryCopiesMade', unit: MetricUnit.Count, value: summary.copied.length },
    { name: 'SecondaryCopiedBytes', unit: MetricUnit.Bytes, value: summary.bytes },
    { name: 'SecondaryCopiesRemaining', unit: MetricUnit.Count, value: summary.remaining },
    { name: 'SecondaryCopiesFailed', unit: MetricUnit.Count, value: summary.failed.length },
  ]);
  const alarmName = process.env[SECONDARY_CATCH_UP_ALARM_ENV];
  if (summary.failed.length > 0 && alarmName) {
    const items = summary.failed.map((copy) => `${copy.objectKey} (${copy.error.split(':')[0] ?? 'error'})`);
    await raiseAlarm(new CloudWatchClient({}), alarmName, fitList(`${summary.failed.length} archived copies could not be copied to the secondary ${secondary.url}: `, items, '. Run `offsite verify <target>`; the next catch-up tries again.'));
  }
  return { secondary: secondary.url, ...summary };
});
