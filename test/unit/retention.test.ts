import { planRetention, type RetentionCandidate } from '../../functions/archive/retention';
import type { RetentionPolicy } from '../../functions/archive/prune-report';
import { PROXMOX_PRUNE_VECTORS } from '../support/proxmox-prune-vectors';

const copies = (...createdAt: string[]): RetentionCandidate[] => createdAt.map((t) => ({ id: t, createdAt: t, protected: false }));
const keptIds = (candidates: readonly RetentionCandidate[], policy: RetentionPolicy | undefined, timeZone: string): string[] =>
  planRetention(candidates, policy, timeZone)
    .filter((d) => d.decision !== 'remove')
    .map((d) => d.id)
    .sort();

describe('planRetention: the public Proxmox prune vectors', () => {
  test.each(PROXMOX_PRUNE_VECTORS.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    // Prepare
    const candidates = vector.copies.map((c) => ({ id: c.createdAt, createdAt: c.createdAt, protected: c.protected ?? false }));

    // Act
    const kept = keptIds(candidates, vector.policy, 'UTC');

    // Assess
    expect(kept).toEqual([...vector.kept].sort());
  });
});

describe('planRetention: rules, reasons and order', () => {
  test('DESIGN example: keep-last=1 plus keep-daily=1 on 12-03 and 12-04 keeps both, each naming its rule', () => {
    // Prepare
    const candidates = copies('2019-12-03T11:59:15Z', '2019-12-04T11:59:15Z');

    // Act
    const plan = planRetention(candidates, { keepLast: 1, keepDaily: 1 }, 'UTC');

    // Assess
    expect(plan).toEqual([
      { id: '2019-12-04T11:59:15Z', decision: 'keep', reason: 'keep-last 1' },
      { id: '2019-12-03T11:59:15Z', decision: 'keep', reason: 'keep-daily 2019-12-03' },
    ]);
  });

  test('decisions come newest first whatever the input order, with the period in each reason', () => {
    // Prepare
    const candidates = copies('2019-11-22T11:59:15Z', '2019-12-04T11:59:15Z', '2018-11-15T11:59:15Z', '2019-12-01T11:59:15Z');

    // Act
    const plan = planRetention(candidates, { keepDaily: 1, keepWeekly: 1, keepMonthly: 1, keepYearly: 1 }, 'UTC');

    // Assess
    expect(plan).toEqual([
      { id: '2019-12-04T11:59:15Z', decision: 'keep', reason: 'keep-daily 2019-12-04' },
      { id: '2019-12-01T11:59:15Z', decision: 'keep', reason: 'keep-weekly 2019-W48' },
      { id: '2019-11-22T11:59:15Z', decision: 'keep', reason: 'keep-monthly 2019-11' },
      { id: '2018-11-15T11:59:15Z', decision: 'keep', reason: 'keep-yearly 2018' },
    ]);
  });

  test('a copy in a period the rule already kept says which newer copy holds it; one outside every rule says so', () => {
    // Prepare
    const candidates = copies('2019-12-04T10:00:00Z', '2019-12-04T11:00:00Z', '2019-12-02T11:00:00Z');

    // Act
    const plan = planRetention(candidates, { keepDaily: 1 }, 'UTC');

    // Assess
    expect(plan).toEqual([
      { id: '2019-12-04T11:00:00Z', decision: 'keep', reason: 'keep-daily 2019-12-04' },
      { id: '2019-12-04T10:00:00Z', decision: 'remove', reason: 'keep-daily 2019-12-04 already kept by the newer copy 2019-12-04T11:00:00Z' },
      { id: '2019-12-02T11:00:00Z', decision: 'remove', reason: 'outside keep-daily 1' },
    ]);
  });

  test('a protected copy is always protected, under a policy that would remove it and under keep-all', () => {
    // Prepare
    const candidates: RetentionCandidate[] = [...copies('2019-12-04T11:00:00Z'), { id: 'old', createdAt: '2010-01-01T00:00:00Z', protected: true }];

    // Act
    const strict = planRetention(candidates, { keepLast: 1 }, 'UTC');
    const none = planRetention(candidates, undefined, 'UTC');

    // Assess
    expect(strict[1]).toEqual({ id: 'old', decision: 'protected', reason: 'protected' });
    expect(none[1]).toEqual({ id: 'old', decision: 'protected', reason: 'protected' });
  });

  test('a protected copy does not use up a period: the newest unprotected copy of that day is kept too', () => {
    // Prepare
    const candidates: RetentionCandidate[] = [{ id: 'p', createdAt: '2019-12-04T12:00:00Z', protected: true }, ...copies('2019-12-04T11:00:00Z')];

    // Act
    const kept = keptIds(candidates, { keepDaily: 1 }, 'UTC');

    // Assess
    expect(kept).toEqual(['2019-12-04T11:00:00Z', 'p']);
  });

  test('no retention, or no option above 0, keeps every copy and says why', () => {
    // Prepare
    const candidates = copies('2019-12-04T11:00:00Z', '2019-12-03T11:00:00Z');

    // Act
    const absent = planRetention(candidates, undefined, 'UTC');
    const zeros = planRetention(candidates, { keepLast: 0, keepDaily: 0 }, 'UTC');

    // Assess
    expect(absent.map((d) => d.decision)).toEqual(['keep', 'keep']);
    expect(absent[0]?.reason).toBe('no retention configured: every copy is kept');
    expect(zeros.map((d) => d.decision)).toEqual(['keep', 'keep']);
    expect(zeros[0]?.reason).toBe('no keep option above 0: every copy is kept');
  });

  test('copies sharing a createdAt are distinct for keep-last and ordered by id', () => {
    // Prepare
    const candidates: RetentionCandidate[] = [
      { id: 'b', createdAt: '2019-12-04T11:00:00Z', protected: false },
      { id: 'a', createdAt: '2019-12-04T11:00:00Z', protected: false },
    ];

    // Act
    const plan = planRetention(candidates, { keepLast: 2 }, 'UTC');

    // Assess
    expect(plan).toEqual([
      { id: 'a', decision: 'keep', reason: 'keep-last 1' },
      { id: 'b', decision: 'keep', reason: 'keep-last 2' },
    ]);
  });

  test('an unknown time zone or an unparsable createdAt is refused, not guessed', () => {
    // Prepare
    const good = copies('2019-12-04T11:00:00Z');

    // Act / Assess
    expect(() => planRetention(good, { keepLast: 1 }, 'Mars/Olympus')).toThrow(/Mars\/Olympus/);
    expect(() => planRetention([{ id: 'x', createdAt: 'yesterday', protected: false }], { keepLast: 1 }, 'UTC')).toThrow(/yesterday/);
  });
});

describe('planRetention: periods in the configured time zone across DST', () => {
  test('Europe/Berlin spring forward: 00:30 CET on 03-31 (23:30Z on 03-30) is local 2024-03-31', () => {
    // Prepare
    const candidates = copies('2024-03-31T21:30:00Z', '2024-03-30T23:30:00Z', '2024-03-30T22:30:00Z');

    // Act
    const plan = planRetention(candidates, { keepDaily: 2 }, 'Europe/Berlin');

    // Assess
    expect(plan.map((d) => [d.id, d.decision, d.reason])).toEqual([
      ['2024-03-31T21:30:00Z', 'keep', 'keep-daily 2024-03-31'],
      ['2024-03-30T23:30:00Z', 'remove', 'keep-daily 2024-03-31 already kept by the newer copy 2024-03-31T21:30:00Z'],
      ['2024-03-30T22:30:00Z', 'keep', 'keep-daily 2024-03-30'],
    ]);
  });

  test('Europe/Berlin after spring forward the offset is +2: 22:30Z on 03-31 is already 04-01 (a fixed +1 would lose a day)', () => {
    // Prepare
    const candidates = copies('2024-03-31T22:30:00Z', '2024-03-31T21:59:00Z');

    // Act
    const plan = planRetention(candidates, { keepDaily: 2 }, 'Europe/Berlin');

    // Assess
    expect(plan.map((d) => d.reason)).toEqual(['keep-daily 2024-04-01', 'keep-daily 2024-03-31']);
  });

  test('Europe/Berlin fall back: the 25-hour day 2024-10-27 is one daily period', () => {
    // Prepare: one copy every hour from 00:00 CEST to 23:00 CET (25 copies), and 23:59 CEST the day before.
    const day = Array.from({ length: 25 }, (_, h) => new Date(Date.UTC(2024, 9, 26, 22 + h)).toISOString());
    const candidates = copies(...day, '2024-10-26T21:59:00Z');

    // Act
    const kept = planRetention(candidates, { keepDaily: 2 }, 'Europe/Berlin').filter((d) => d.decision === 'keep');

    // Assess
    expect(kept.map((d) => [d.id, d.reason])).toEqual([
      ['2024-10-27T22:00:00.000Z', 'keep-daily 2024-10-27'],
      ['2024-10-26T21:59:00Z', 'keep-daily 2024-10-26'],
    ]);
  });

  test('Europe/Berlin fall back: the repeated 02:00 hour is one hourly period, as PBS labels it', () => {
    // Prepare: 02:30 CEST, 02:30 CET, 03:30 CET.
    const candidates = copies('2024-10-27T00:30:00Z', '2024-10-27T01:30:00Z', '2024-10-27T02:30:00Z');

    // Act
    const plan = planRetention(candidates, { keepHourly: 3 }, 'Europe/Berlin');

    // Assess
    expect(plan.map((d) => [d.decision, d.reason])).toEqual([
      ['keep', 'keep-hourly 2024-10-27T03'],
      ['keep', 'keep-hourly 2024-10-27T02'],
      ['remove', 'keep-hourly 2024-10-27T02 already kept by the newer copy 2024-10-27T01:30:00Z'],
    ]);
  });

  test('America/New_York spring forward: Sunday 23:30 EDT (Monday 03:30Z) is still ISO week 10', () => {
    // Prepare: Monday 10:00 EDT, Sunday 23:30 EDT, Saturday 07:00 EST.
    const candidates = copies('2024-03-11T14:00:00Z', '2024-03-11T03:30:00Z', '2024-03-09T12:00:00Z');

    // Act
    const plan = planRetention(candidates, { keepWeekly: 2 }, 'America/New_York');

    // Assess
    expect(plan.map((d) => [d.decision, d.reason.split(' already')[0]])).toEqual([
      ['keep', 'keep-weekly 2024-W11'],
      ['keep', 'keep-weekly 2024-W10'],
      ['remove', 'keep-weekly 2024-W10'],
    ]);
  });

  test('America/New_York fall back: 23:30 EST on the 25-hour day 11-03 (04:30Z on 11-04) is local 2024-11-03', () => {
    // Prepare
    const candidates = copies('2024-11-04T04:30:00Z', '2024-11-03T04:30:00Z', '2024-11-03T03:30:00Z');

    // Act
    const plan = planRetention(candidates, { keepDaily: 2 }, 'America/New_York');

    // Assess
    expect(plan.map((d) => [d.id, d.decision])).toEqual([
      ['2024-11-04T04:30:00Z', 'keep'],
      ['2024-11-03T04:30:00Z', 'remove'],
      ['2024-11-03T03:30:00Z', 'keep'],
    ]);
    expect(plan[2]?.reason).toBe('keep-daily 2024-11-02');
  });

  test('America/New_York: months and years turn at local midnight (31 Oct 23:30 EDT, 31 Dec 23:30 EST)', () => {
    // Prepare
    const candidates = copies('2025-01-01T04:30:00Z', '2024-11-01T03:30:00Z');

    // Act
    const monthly = planRetention(candidates, { keepMonthly: 2 }, 'America/New_York');
    const yearly = planRetention(candidates, { keepYearly: 2 }, 'America/New_York');

    // Assess
    expect(monthly.map((d) => d.reason)).toEqual(['keep-monthly 2024-12', 'keep-monthly 2024-10']);
    expect(yearly.map((d) => d.decision)).toEqual(['keep', 'remove']);
  });
});
