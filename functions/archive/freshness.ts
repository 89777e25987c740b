// The scheduled freshness check: one run over every scheduled target, one number (how
// many are not fresh) and one alarm whose state reason names them. Cost stays flat with
// the fleet: no metric or alarm per target.
import { SetAlarmStateCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { OffsiteConfig } from '../config/schema';
import { drillStatuses, isDrillOverdue, type DrillStatus } from '../drill/freshness';
import { archiveStatus, isOverdue, type TargetStatus } from './status';

export interface FreshnessReport {
  /** Scheduled targets looked at. */
  readonly checked: number;
  /** Stale or never backed up, in configuration order. */
  readonly overdue: readonly Pick<TargetStatus, 'name' | 'state' | 'lastCopyAt'>[];
  /** Targets with a drill schedule whose last passed drill is older than it allows (or none passed). */
  readonly overdueDrills?: readonly Pick<DrillStatus, 'name' | 'state' | 'lastPassedAt'>[];
}

export async function checkFreshness(config: OffsiteConfig, s3: S3Client, now: Date): Promise<FreshnessReport> {
  const [statuses, drills] = await Promise.all([archiveStatus(config, s3, now), drillStatuses(config, s3, now)]);
  return {
    checked: statuses.filter((status) => status.state !== 'unscheduled').length,
    overdue: statuses.filter(isOverdue).map(({ name, state, lastCopyAt }) => ({ name, state, lastCopyAt })),
    overdueDrills: drills.filter(isDrillOverdue).map(({ name, state, lastPassedAt }) => ({ name, state, lastPassedAt })),
  };
}

/** "1 target has no recent passed drill: netbox-prod (last passed 2026-01-01T…)" — for the drill-overdue alarm. */
export function overdueDrillReason(report: FreshnessReport): string {
  const drills = report.overdueDrills ?? [];
  const names = drills.map((target) => `${target.name} (${target.state === 'never' ? 'no drill passed yet' : `last passed ${target.lastPassedAt ?? '?'}`})`);
  return fitList(`${drills.length} target(s) have no drill that passed within their drill schedule: `, names, '. `offsite status` shows each; the drill reports are under <prefix><target>/drills/.');
}

/** CloudWatch keeps at most 1023 characters of a state reason. */
const MAX_REASON = 1023;

/** "2 of 5 scheduled targets have no fresh copy: web-01 (newest 2026-01-01T02:00:00.000Z), db (never)" — cut to fit, saying how many were left out. */
export function overdueReason(report: FreshnessReport): string {
  const head = `${report.overdue.length} of ${report.checked} scheduled targets have no fresh verified copy: `;
  const names = report.overdue.map((target) => `${target.name} (${target.state === 'never' ? 'never backed up' : `newest ${target.lastCopyAt ?? '?'}`})`);
  return fitList(head, names, '. `offsite status` shows each.');
}

/** Joins as many items as fit in a state reason; the rest are counted. */
export function fitList(head: string, items: readonly string[], tail: string): string {
  let text = head;
  for (const [index, item] of items.entries()) {
    const rest = items.length - index - 1;
    const candidate = `${text}${index === 0 ? '' : ', '}${item}`;
    const reserve = rest > 0 ? ` and ${rest} more`.length + tail.length : tail.length;
    if (candidate.length + reserve > MAX_REASON) return `${text} and ${items.length - index} more${tail}`.slice(0, MAX_REASON);
    text = candidate;
  }
  return `${text}${tail}`.slice(0, MAX_REASON);
}

/**
 * Puts the alarm into ALARM with a reason naming what is wrong, so the notification the
 * topic sends carries the names (a metric alarm's own reason only has numbers). Called
 * right after the metric is published: the alarm's next evaluation of the metric agrees
 * and keeps it there; once the count is 0 the alarm returns to OK by itself. Setting
 * ALARM on an alarm already in ALARM sends nothing, so a run per hour does not repeat
 * the notification.
 */
export async function raiseAlarm(cloudwatch: CloudWatchClient, alarmName: string, reason: string): Promise<void> {
  await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: 'ALARM', StateReason: reason.slice(0, MAX_REASON) }));
}
