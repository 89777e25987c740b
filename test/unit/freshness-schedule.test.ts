import { intervalAt, nextRun, parseSchedule, previousRun, ScheduleExpressionError } from '../../functions/archive/freshness-schedule';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function next(expression: string, after: string, timezone = 'UTC'): string | undefined {
  return nextRun(parseSchedule(expression), new Date(after), timezone)?.toISOString();
}

describe('schedule expressions read as calendars', () => {
  test('a daily cron runs next at its wall time in the configured time zone', () => {
    // Act
    const run = next('cron(0 2 * * ? *)', '2026-01-10T12:00:00Z', 'Europe/Berlin');

    // Assess: 02:00 in Berlin in winter is 01:00 UTC, the next day.
    expect(run).toBe('2026-01-11T01:00:00.000Z');
  });

  test('the interval of a daily cron is 24 hours, and 23 or 25 across a DST change', () => {
    // Prepare
    const daily = parseSchedule('cron(0 4 * * ? *)');
    const atTwo = parseSchedule('cron(0 2 * * ? *)');

    // Act
    const ordinary = intervalAt(daily, new Date('2026-01-10T12:00:00Z'), 'Europe/Berlin');
    const spring = intervalAt(daily, new Date('2026-03-28T12:00:00Z'), 'Europe/Berlin');
    const autumn = intervalAt(atTwo, new Date('2026-10-31T12:00:00Z'), 'America/New_York');
    const skipped = intervalAt(atTwo, new Date('2026-03-28T12:00:00Z'), 'Europe/Berlin');

    // Assess: 2026-03-29 loses an hour in Berlin; 2026-11-01 gains one in New York. 02:00
    // does not exist in Berlin on 03-29: it runs at 03:00 CEST, 24 h after 02:00 CET.
    expect(ordinary).toBe(24 * HOUR);
    expect(spring).toBe(23 * HOUR);
    expect(autumn).toBe(25 * HOUR);
    expect(skipped).toBe(24 * HOUR);
  });

  test('a weekday-only cron is judged against the weekend gap from Friday on', () => {
    // Prepare
    const weekdays = parseSchedule('cron(0 3 ? * MON-FRI *)');

    // Act: 2026-01-09 is a Friday, 2026-01-07 a Wednesday.
    const fromFriday = intervalAt(weekdays, new Date('2026-01-09T10:00:00Z'), 'UTC');
    const fromWednesday = intervalAt(weekdays, new Date('2026-01-07T10:00:00Z'), 'UTC');

    // Assess
    expect(fromFriday).toBe(3 * DAY);
    expect(fromWednesday).toBe(DAY);
  });

  test('days of the week count 1-7 from Sunday, as EventBridge does', () => {
    // Act: 2026-01-10 is a Saturday; "1" is Sunday.
    const run = next('cron(30 6 ? * 1 *)', '2026-01-10T00:00:00Z');

    // Assess
    expect(run).toBe('2026-01-11T06:30:00.000Z');
  });

  test('steps, lists and the L, W and # wildcards select the right days', () => {
    // Act
    const everyQuarterHour = next('cron(*/15 * * * ? *)', '2026-01-10T10:16:00Z');
    const lastDay = next('cron(0 0 L * ? *)', '2026-02-02T00:00:00Z');
    const lastWeekday = next('cron(0 0 LW * ? *)', '2026-01-02T00:00:00Z');
    const nearestWeekday = next('cron(0 0 15W * ? *)', '2026-02-01T00:00:00Z');
    const secondTuesday = next('cron(0 9 ? * 3#2 *)', '2026-01-01T00:00:00Z');
    const lastFriday = next('cron(0 9 ? * 6L *)', '2026-01-01T00:00:00Z');

    // Assess: 2026-01-31 is a Saturday, 2026-02-15 a Sunday.
    expect(everyQuarterHour).toBe('2026-01-10T10:30:00.000Z');
    expect(lastDay).toBe('2026-02-28T00:00:00.000Z');
    expect(lastWeekday).toBe('2026-01-30T00:00:00.000Z');
    expect(nearestWeekday).toBe('2026-02-16T00:00:00.000Z');
    expect(secondTuesday).toBe('2026-01-13T09:00:00.000Z');
    expect(lastFriday).toBe('2026-01-30T09:00:00.000Z');
  });

  test('the previous run is the last one at or before the moment', () => {
    // Act
    const previous = previousRun(parseSchedule('cron(0 2 * * ? *)'), new Date('2026-01-10T02:00:00Z'), 'UTC');

    // Assess
    expect(previous?.toISOString()).toBe('2026-01-10T02:00:00.000Z');
  });

  test('a rate has a fixed interval and no calendar of runs', () => {
    // Prepare
    const rate = parseSchedule('rate(6 hours)');

    // Act / Assess
    expect(intervalAt(rate, new Date('2026-01-10T00:00:00Z'), 'UTC')).toBe(6 * HOUR);
    expect(nextRun(rate, new Date('2026-01-10T00:00:00Z'), 'UTC')).toBeNull();
  });

  test('a one-time at() schedule runs once and has no interval', () => {
    // Prepare
    const once = parseSchedule('at(2026-05-01T04:00:00)');

    // Act / Assess
    expect(nextRun(once, new Date('2026-01-01T00:00:00Z'), 'UTC')?.toISOString()).toBe('2026-05-01T04:00:00.000Z');
    expect(intervalAt(once, new Date('2026-01-01T00:00:00Z'), 'UTC')).toBeNull();
  });

  test('a cron whose years are over has no next run and no interval', () => {
    // Prepare
    const ended = parseSchedule('cron(0 2 * * ? 2024)');

    // Act / Assess
    expect(nextRun(ended, new Date('2026-01-01T00:00:00Z'), 'UTC')).toBeNull();
    expect(intervalAt(ended, new Date('2026-01-01T00:00:00Z'), 'UTC')).toBeNull();
  });

  test('an expression it cannot read is refused naming the field', () => {
    // Act / Assess
    expect(() => parseSchedule('cron(0 2 * * *)')).toThrow(ScheduleExpressionError);
    expect(() => parseSchedule('cron(0 25 * * ? *)')).toThrow(/hours: "25"/);
    expect(() => parseSchedule('cron(0 2 * * MON *)')).toThrow(/exactly one of day-of-month and day-of-week/);
  });
});
