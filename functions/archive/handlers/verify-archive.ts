import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { lambdaHandler } from '../../middleware/middleware';
import { VERIFY_ALARM_ENV } from '../freshness-names';
import { archiveClient } from '../../runtime/archive-client';
import { primaryPlace } from '../places';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { logger } from '../../runtime/logger';
import { MetricUnit, publishMetrics } from '../../runtime/metrics';
import { systemClock } from '../../shared/clock';
import { fitList, raiseAlarm } from '../freshness';
import { verifyOldestFirst, verifySettings } from '../verify';

/** Time kept back from the 15-minute limit for the copy being read and the records written. */
const MARGIN_MS = 3 * 60_000;
const LIMIT_MS = 15 * 60_000;
const GIB = 1024 ** 3;

/** VerifyArchive (scheduled): re-reads the copies verified longest ago, up to the byte budget, and alarms on any bad one. */
export const handler = lambdaHandler(z.looseObject({}), async () => {
  const config = await loadRuntimeConfig();
  const started = systemClock();
  const settings = verifySettings(config.archive);
  const summary = await verifyOldestFirst(
    { s3: archiveClient(config.archive), bucket: config.archive.bucket, prefix: config.archive.prefix, kmsKeyArn: primaryPlace(config).kmsKeyArn },
    config.targets.map((target) => target.name),
    systemClock,
    { budgetBytes: settings.maxGiBPerRun * GIB, deadline: new Date(started.getTime() + LIMIT_MS - MARGIN_MS) },
  );
  logger.info('archive verified', { ...summary });
  publishMetrics({ Job: 'verify' }, [
    { name: 'VerifiedCopies', unit: MetricUnit.Count, value: summary.checked },
    { name: 'VerifiedBytes', unit: MetricUnit.Bytes, value: summary.bytes },
    { name: 'VerifyBadCopies', unit: MetricUnit.Count, value: summary.bad.length },
  ]);
  const alarmName = process.env[VERIFY_ALARM_ENV];
  if (summary.bad.length > 0 && alarmName) {
    const items = summary.bad.map((copy) => `${copy.objectKey} (${copy.result})`);
    await raiseAlarm(new CloudWatchClient({}), alarmName, fitList(`${summary.bad.length} archived copies failed verification: `, items, '. Run `offsite verify <target>`.'));
  }
  // Reads that failed are no verdict: the run fails (visible in its metrics and logs) after
  // what it did find was recorded, published and alarmed on.
  if (summary.unread.length > 0) {
    throw new Error(`${summary.unread.length} archived copies could not be read and were not verified (tried again next run): ${summary.unread.slice(0, 5).map((copy) => `${copy.objectKey} (${copy.error})`).join('; ')}`);
  }
  return summary;
});
