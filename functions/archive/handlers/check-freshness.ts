import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { lambdaHandler } from '../../handlers/middleware';
import { FRESHNESS_ALARM_ENV } from '../freshness-names';
import { archiveClient } from '../../runtime/archive-client';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { logger } from '../../runtime/logger';
import { MetricUnit, publishMetrics } from '../../runtime/metrics';
import { systemClock } from '../../shared/clock';
import { checkFreshness, overdueReason, raiseAlarm } from '../freshness';


/** CheckFreshness (hourly): how many scheduled targets have no fresh verified copy, one metric, names in the alarm. */
export const handler = lambdaHandler(z.looseObject({}), async () => {
  const config = await loadRuntimeConfig();
  const report = await checkFreshness(config, archiveClient(config.archive), systemClock());
  logger.info('freshness checked', { checked: report.checked, overdue: report.overdue.map((target) => target.name) });
  publishMetrics({ Job: 'freshness' }, [{ name: 'StaleTargets', unit: MetricUnit.Count, value: report.overdue.length }]);
  const alarmName = process.env[FRESHNESS_ALARM_ENV];
  if (report.overdue.length > 0 && alarmName) await raiseAlarm(new CloudWatchClient({}), alarmName, overdueReason(report));
  return report;
});
