import { fitList, overdueReason } from '../../functions/archive/freshness';

describe('the freshness alarm reason', () => {
  test('names every stale and never-backed-up target with its newest copy', () => {
    // Act
    const reason = overdueReason({ checked: 5, overdue: [{ name: 'web-01', state: 'stale', lastCopyAt: '2026-01-01T02:00:00.000Z' }, { name: 'db', state: 'never', lastCopyAt: null }] });

    // Assess
    expect(reason).toBe('2 of 5 scheduled targets have no fresh verified copy: web-01 (newest 2026-01-01T02:00:00.000Z), db (never backed up). `offsite status` shows each.');
  });

  test('fits CloudWatch’s 1023 characters, counting the names left out', () => {
    // Prepare
    const names = Array.from({ length: 200 }, (_, index) => `target-with-a-long-name-${index}`);

    // Act
    const reason = fitList('stale: ', names, '. See offsite status.');

    // Assess
    expect(reason.length).toBeLessThanOrEqual(1023);
    expect(reason).toMatch(/ and \d+ more\. See offsite status\.$/);
    expect(reason).toContain('target-with-a-long-name-0, target-with-a-long-name-1');
  });
});
