// EventBridge Scheduler expressions read as calendars: when a schedule runs next, when it
// ran last, and how long the schedule interval around a moment is. `status` and the
// freshness check judge a target's newest copy against that interval.
//
// Written here rather than taken from a cron library: the common ones (cron-parser,
// croner, node-cron) read five fields or seconds-first six fields, number the days of the
// week 0-6 from Sunday, and have no year field; EventBridge's cron is
// `minutes hours day-of-month month day-of-week year`, days of the week 1-7 from SUN,
// with `?`, `L`, `W` and `#`.
import { DateTime } from 'luxon';

/** An expression this module cannot read (the config schema only checks the outer shape). */
export class ScheduleExpressionError extends Error {
  override readonly name = 'ScheduleExpressionError';
}

interface CronSchedule {
  readonly type: 'cron';
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number> | 'any';
  readonly dayOfMonth: DayOfMonthRule;
  readonly dayOfWeek: DayOfWeekRule;
  /** Minutes of the day it runs at, ascending (the same on every day it runs). */
  readonly times: readonly number[];
}

type DayOfMonthRule = { readonly any: true } | { readonly days: ReadonlySet<number>; readonly last: boolean; readonly lastWeekday: boolean; readonly nearestWeekday: readonly number[] };
type DayOfWeekRule = { readonly any: true } | { readonly days: ReadonlySet<number>; readonly lastOf: readonly number[]; readonly nth: readonly { readonly day: number; readonly n: number }[] };

export type ParsedSchedule =
  | CronSchedule
  | { readonly type: 'rate'; readonly everyMs: number }
  | { readonly type: 'at'; readonly local: string };

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const DAY_MS = 86_400_000;
/** How far to look for a run: two leap cycles, enough for `29 2` or a sparse year list. */
const HORIZON_DAYS = 8 * 366;

function numberIn(token: string, min: number, max: number, names: readonly string[] | undefined, field: string): number {
  const named = names?.indexOf(token.toUpperCase()) ?? -1;
  const value = named >= 0 ? named + min : /^\d+$/.test(token) ? Number(token) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) throw new ScheduleExpressionError(`${field}: "${token}" is not a value from ${min} to ${max}`);
  return value;
}

/** `*`, `a`, `a-b`, `a/s`, `*\/s`, `a-b/s`, comma lists. */
function numberSet(text: string, min: number, max: number, field: string, names?: readonly string[]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : numberIn(stepText, 1, max - min + 1, undefined, field);
    let from = min;
    let to = max;
    if (range !== '*') {
      const [a = '', b] = range.split('-');
      from = numberIn(a, min, max, names, field);
      to = b === undefined ? (stepText === undefined ? from : max) : numberIn(b, min, max, names, field);
    }
    if (to < from) throw new ScheduleExpressionError(`${field}: range "${range}" runs backwards`);
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

function dayOfMonthRule(text: string): DayOfMonthRule {
  if (text === '?' || text === '*') return { any: true };
  const days = new Set<number>();
  const nearestWeekday: number[] = [];
  let last = false;
  let lastWeekday = false;
  for (const part of text.split(',')) {
    if (part === 'L') last = true;
    else if (part === 'LW') lastWeekday = true;
    else if (/^\d+W$/.test(part)) nearestWeekday.push(numberIn(part.slice(0, -1), 1, 31, undefined, 'day-of-month'));
    else for (const day of numberSet(part, 1, 31, 'day-of-month')) days.add(day);
  }
  return { days, last, lastWeekday, nearestWeekday };
}

function dayOfWeekRule(text: string): DayOfWeekRule {
  if (text === '?' || text === '*') return { any: true };
  const days = new Set<number>();
  const lastOf: number[] = [];
  const nth: { day: number; n: number }[] = [];
  for (const part of text.split(',')) {
    // `L` alone is the last day of the week (Saturday); `5L` the last Thursday of the month.
    if (part === 'L') days.add(7);
    else if (/^\w+L$/.test(part)) lastOf.push(numberIn(part.slice(0, -1), 1, 7, DAY_NAMES, 'day-of-week'));
    else if (/^\w+#\d$/.test(part)) {
      const [day = '', n = ''] = part.split('#');
      nth.push({ day: numberIn(day, 1, 7, DAY_NAMES, 'day-of-week'), n: numberIn(n, 1, 5, undefined, 'day-of-week') });
    } else for (const day of numberSet(part, 1, 7, 'day-of-week', DAY_NAMES)) days.add(day);
  }
  return { days, lastOf, nth };
}

const RATE_UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: DAY_MS };

/** Reads `cron(…)`, `rate(…)` or `at(…)`; throws ScheduleExpressionError naming the field. */
export function parseSchedule(expression: string): ParsedSchedule {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    if (value < 1) throw new ScheduleExpressionError(`${expression}: a rate must be at least 1`);
    return { type: 'rate', everyMs: value * (RATE_UNIT_MS[rate[2] ?? ''] ?? 0) };
  }
  const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (at) return { type: 'at', local: at[1] ?? '' };
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (!cron) throw new ScheduleExpressionError(`${expression}: expected cron(…), rate(…) or at(…)`);
  const fields = (cron[1] ?? '').trim().split(/\s+/);
  if (fields.length !== 6) throw new ScheduleExpressionError(`${expression}: a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`);
  const [minutes = '', hours = '', dom = '', month = '', dow = '', year = ''] = fields;
  if ((dom === '?') === (dow === '?')) throw new ScheduleExpressionError(`${expression}: exactly one of day-of-month and day-of-week must be "?"`);
  const minuteSet = numberSet(minutes, 0, 59, 'minutes');
  const hourSet = numberSet(hours, 0, 23, 'hours');
  const times = [...hourSet].sort((a, b) => a - b).flatMap((hour) => [...minuteSet].sort((a, b) => a - b).map((minute) => hour * 60 + minute));
  return {
    type: 'cron',
    minutes: minuteSet,
    hours: hourSet,
    months: numberSet(month, 1, 12, 'month', MONTH_NAMES),
    years: year === '*' ? 'any' : numberSet(year, 1970, 2199, 'year'),
    dayOfMonth: dayOfMonthRule(dom),
    dayOfWeek: dayOfWeekRule(dow),
    times,
  };
}

/** A calendar day (no time zone): days since 1970-01-01. */
function civil(dayNumber: number): { year: number; month: number; day: number; weekday: number; daysInMonth: number } {
  const date = new Date(dayNumber * DAY_MS);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  return { year, month, day: date.getUTCDate(), weekday: date.getUTCDay() + 1, daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate() };
}

function isWeekday(weekday: number): boolean {
  return weekday >= 2 && weekday <= 6;
}

/** The weekday nearest to `target` within the month (Quartz/EventBridge `W`). */
function nearestWeekdayOf(target: number, first: { weekday: number }, daysInMonth: number): number {
  const day = Math.min(target, daysInMonth);
  const weekday = ((first.weekday - 1 + day - 1) % 7) + 1;
  if (isWeekday(weekday)) return day;
  if (weekday === 7) return day === 1 ? day + 2 : day - 1; // Saturday: Friday, unless that leaves the month
  return day === daysInMonth ? day - 2 : day + 1; // Sunday: Monday, unless that leaves the month
}

function dayMatches(schedule: CronSchedule, dayNumber: number): boolean {
  const date = civil(dayNumber);
  if (!schedule.months.has(date.month)) return false;
  if (schedule.years !== 'any' && !schedule.years.has(date.year)) return false;
  const dom = schedule.dayOfMonth;
  if (!('any' in dom)) {
    const first = civil(dayNumber - date.day + 1);
    // The last day's nearest weekday stays in the month: it is the month's last weekday.
    const lastWeekday = nearestWeekdayOf(date.daysInMonth, first, date.daysInMonth);
    const hit =
      dom.days.has(date.day) ||
      (dom.last && date.day === date.daysInMonth) ||
      (dom.lastWeekday && date.day === lastWeekday) ||
      dom.nearestWeekday.some((target) => nearestWeekdayOf(target, first, date.daysInMonth) === date.day);
    if (!hit) return false;
  }
  const dow = schedule.dayOfWeek;
  if (!('any' in dow)) {
    const hit =
      dow.days.has(date.weekday) ||
      dow.lastOf.some((weekday) => weekday === date.weekday && date.day + 7 > date.daysInMonth) ||
      dow.nth.some(({ day, n }) => day === date.weekday && Math.ceil(date.day / 7) === n);
    if (!hit) return false;
  }
  return true;
}

function instantOf(dayNumber: number, minuteOfDay: number, timezone: string): number {
  const { year, month, day } = civil(dayNumber);
  // A wall time skipped by a DST change runs at the same distance after the change (luxon's rule).
  return DateTime.fromObject({ year, month, day, hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60 }, { zone: timezone }).toMillis();
}

function localDayNumber(at: Date, timezone: string): number {
  const local = DateTime.fromJSDate(at, { zone: timezone });
  return Math.round(Date.UTC(local.year, local.month - 1, local.day) / DAY_MS);
}

function atInstant(local: string, timezone: string): number {
  return DateTime.fromISO(local, { zone: timezone }).toMillis();
}

function cronRun(schedule: CronSchedule, at: Date, timezone: string, direction: 'next' | 'previous'): Date | null {
  const start = localDayNumber(at, timezone);
  const limit = at.getTime();
  const step = direction === 'next' ? 1 : -1;
  const times = direction === 'next' ? schedule.times : [...schedule.times].reverse();
  for (let offset = 0; offset <= HORIZON_DAYS; offset += 1) {
    const dayNumber = start + step * offset;
    if (!dayMatches(schedule, dayNumber)) continue;
    for (const minute of times) {
      const instant = instantOf(dayNumber, minute, timezone);
      if (direction === 'next' ? instant > limit : instant <= limit) return new Date(instant);
    }
  }
  return null;
}

/** The first run strictly after `after`; null for a rate (its start is when the schedule was created) or a schedule that has ended. */
export function nextRun(schedule: ParsedSchedule, after: Date, timezone: string): Date | null {
  if (schedule.type === 'rate') return null;
  if (schedule.type === 'at') {
    const instant = atInstant(schedule.local, timezone);
    return instant > after.getTime() ? new Date(instant) : null;
  }
  return cronRun(schedule, after, timezone, 'next');
}

/** The last run at or before `at`; null when there is none (or for a rate). */
export function previousRun(schedule: ParsedSchedule, at: Date, timezone: string): Date | null {
  if (schedule.type === 'rate') return null;
  if (schedule.type === 'at') {
    const instant = atInstant(schedule.local, timezone);
    return instant <= at.getTime() ? new Date(instant) : null;
  }
  return cronRun(schedule, at, timezone, 'previous');
}

/**
 * The length of the schedule interval `at` falls in, in milliseconds: from the run at or
 * before it to the next run. Weekday-only and monthly schedules have intervals of
 * different lengths; a copy made on Friday of a MON-FRI schedule is judged against the
 * weekend's three days. Null when the schedule does not repeat around `at` (an `at()`
 * schedule, or a cron that has not started or has ended within eight years).
 */
export function intervalAt(schedule: ParsedSchedule, at: Date, timezone: string): number | null {
  if (schedule.type === 'rate') return schedule.everyMs;
  if (schedule.type === 'at') return null;
  const previous = previousRun(schedule, at, timezone);
  const next = nextRun(schedule, at, timezone);
  return previous && next ? next.getTime() - previous.getTime() : null;
}
