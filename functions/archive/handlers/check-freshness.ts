import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { lambdaHandler } from '../../middleware/middleware';
import { FRESHNESS_ALARM_ENV } from '../freshness-names';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { logger } from '../../runtime/logger';
import { MetricUnit, publishMetrics } from '../../runtime/metrics';
import { systemClock } from '../../shared/clock';
import { DRILL_OVERDUE_ALARM_ENV } from '../../drill/jobs';
import { checkFreshness, overdueDrillReason, overdueReason, raiseAlarm } from '../freshness';
import { archivePlaces } from '../places';


/** CheckFreshness (hourly): how many scheduled targets have no fresh verified copy (in either place), one metric, names and places in the alarm. */
export const handler = lambdaHandler(z.looseObject({}), async () => {
  const config = await loadRuntimeConfig();
  const report = await checkFreshness(config, await archivePlaces(config), systemClock());
  logger.info('freshness checked', { checked: report.checked, overdue: report.overdue.map((target) => (target.behind ? `${target.name} (${target.behind.map((place) => place.place).join(', ')})` : target.name)) });
  const overdueDrills = report.overdueDrills ?? [];
  publishMetrics({ Job: 'freshness' }, [
    { name: 'StaleTargets', unit: MetricUnit.Count, value: report.overdue.length },
    { name: 'OverdueDrills', unit: MetricUnit.Count, value: overdueDrills.length },
  ]);
  const alarmName = process.env[FRESHNESS_ALARM_ENV];
  if (report.overdue.length > 0 && alarmName) await raiseAlarm(new CloudWatchClient({}), alarmName, overdueReason(report));
  const drillAlarmName = process.env[DRILL_OVERDUE_ALARM_ENV];
  if (overdueDrills.length > 0 && drillAlarmName) await raiseAlarm(new CloudWatchClient({}), drillAlarmName, overdueDrillReason(report));
  return report;
});
