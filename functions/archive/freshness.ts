// The scheduled freshness check: one run over every scheduled target, one number (how
// many are not fresh) and one alarm whose state reason names them. Cost stays flat with
// the fleet: no metric or alarm per target.
import { SetAlarmStateCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { OffsiteConfig } from '../config/schema';
import { drillStatuses, isDrillOverdue, type DrillStatus } from '../drill/freshness';
import type { ArchivePlace, PlaceName } from './places';
import { archiveStatus, isOverdue, placesBehind, type TargetStatus } from './status';

/** A place (primary or secondary) whose newest verified copy of a target is too old, or that has none. */
export interface PlaceBehind {
  readonly place: PlaceName;
  readonly state: 'stale' | 'never';
  readonly lastCopyAt: string | null;
}

export interface FreshnessReport {
  /** Scheduled targets looked at. */
  readonly checked: number;
  /** Stale or never backed up, in configuration order. */
  readonly overdue: readonly (Pick<TargetStatus, 'name' | 'state' | 'lastCopyAt'> & { readonly behind?: readonly PlaceBehind[] })[];
  /** Targets with a drill schedule whose last passed drill is older than it allows (or none passed). */
  readonly overdueDrills?: readonly Pick<DrillStatus, 'name' | 'state' | 'lastPassedAt'>[];
}

/** Over the places given (primary first); drill reports are read from the primary. */
export async function checkFreshness(config: OffsiteConfig, places: readonly ArchivePlace[], now: Date): Promise<FreshnessReport> {
  const [primary] = places;
  if (!primary) throw new Error('checkFreshness: no archive place');
  const [statuses, drills] = await Promise.all([archiveStatus(config, places, now), drillStatuses(config, primary.s3, now)]);
  return {
    checked: statuses.filter((status) => status.state !== 'unscheduled').length,
    // With a secondary, each overdue target says which place is behind.
    overdue: statuses.filter(isOverdue).map((status) => ({ name: status.name, state: status.state, lastCopyAt: status.lastCopyAt, ...(status.places ? { behind: placesBehind(status) } : {}) })),
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

function behindText(place: PlaceName | undefined, state: 'stale' | 'never', lastCopyAt: string | null): string {
  if (state === 'stale') return `newest ${lastCopyAt ?? '?'}`;
  return place === 'secondary' ? 'never copied' : 'never backed up';
}

/**
 * "2 of 5 scheduled targets have no fresh copy: web-01 (newest 2026-01-01T02:00:00.000Z), db (never)" — cut to fit, saying how many were left out.
 * With a secondary, each names the place behind: "web-01 (secondary: newest …)".
 */
export function overdueReason(report: FreshnessReport): string {
  const head = `${report.overdue.length} of ${report.checked} scheduled targets have no fresh verified copy: `;
  const names = report.overdue.map((target) =>
    target.behind
      ? `${target.name} (${target.behind.map((place) => `${place.place}: ${behindText(place.place, place.state, place.lastCopyAt)}`).join('; ')})`
      : `${target.name} (${behindText(undefined, target.state === 'never' ? 'never' : 'stale', target.lastCopyAt)})`,
  );
  return fitList(head, names, '. `offsite status` shows each.');
}

/**
 * "2 archived copies failed verification: backups/a/… (differs in the secondary), …" — for
 * the bad-copies alarm. The place is named only when there are two: without a secondary
 * the reason reads as it always did.
 */
export function badCopiesReason(bad: readonly { readonly place: PlaceName; readonly objectKey: string; readonly result: 'differs' | 'missing' }[], namePlaces: boolean): string {
  const items = bad.map((copy) => `${copy.objectKey} (${copy.result}${namePlaces ? ` in the ${copy.place}` : ''})`);
  return fitList(`${bad.length} archived copies failed verification: `, items, '. Run `offsite verify <target>`.');
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
