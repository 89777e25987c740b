// The public Proxmox prune vectors, transcribed as data (times as ISO 8601 UTC) so the
// pure retention tests and the CLI tests against a planted archive check the same cases.
//   PBS:         proxmox-backup tests/prune.rs (test_prune_hourly, test_prune_simple2, test_prune_simple)
//   pve-storage: src/test/prune_backups_test.pm (one backup group per case; the 'renamed'
//                volumes that carry no parsable time are left out, as offsite only counts
//                copies with a manifest)
// Both suites run in a zone whose hours line up with UTC, so the vectors use 'UTC'.
import type { RetentionPolicy } from '../../functions/archive/prune-report';

export interface PruneVector {
  readonly name: string;
  readonly policy: RetentionPolicy;
  readonly copies: readonly { readonly createdAt: string; readonly protected?: boolean }[];
  /** createdAt of every copy kept (protected ones included), any order. */
  readonly kept: readonly string[];
}

const hourly = ['2019-11-15T09:39:15Z', '2019-11-15T10:49:15Z', '2019-11-15T10:59:15Z', '2019-11-15T11:39:15Z', '2019-11-15T11:49:15Z', '2019-11-15T11:59:15Z'];
const simple2 = [
  '2018-11-15T11:59:15Z',
  '2019-11-15T11:59:15Z',
  '2019-11-21T11:59:15Z',
  '2019-11-22T11:59:15Z',
  '2019-11-29T11:59:15Z',
  '2019-12-01T11:59:15Z',
  '2019-12-02T11:59:15Z',
  '2019-12-03T11:59:15Z',
  '2019-12-04T11:59:15Z',
];
const simple = ['2019-12-02T11:59:15Z', '2019-12-03T11:59:15Z', '2019-12-04T11:59:15Z', '2019-12-04T12:59:15Z'];
const all = (times: readonly string[]) => times.map((createdAt) => ({ createdAt }));
const without = (times: readonly string[], removed: readonly string[]) => times.filter((t) => !removed.includes(t));

const pbs: PruneVector[] = [
  { name: 'test_prune_hourly hourly=3', policy: { keepHourly: 3 }, copies: all(hourly), kept: without(hourly, ['2019-11-15T10:49:15Z', '2019-11-15T11:39:15Z', '2019-11-15T11:49:15Z']) },
  { name: 'test_prune_hourly hourly=2', policy: { keepHourly: 2 }, copies: all(hourly), kept: ['2019-11-15T10:59:15Z', '2019-11-15T11:59:15Z'] },
  { name: 'test_prune_simple2 daily=1', policy: { keepDaily: 1 }, copies: all(simple2), kept: ['2019-12-04T11:59:15Z'] },
  { name: 'test_prune_simple2 last=1 daily=1', policy: { keepLast: 1, keepDaily: 1 }, copies: all(simple2), kept: ['2019-12-03T11:59:15Z', '2019-12-04T11:59:15Z'] },
  { name: 'test_prune_simple2 daily=1 weekly=1', policy: { keepDaily: 1, keepWeekly: 1 }, copies: all(simple2), kept: ['2019-12-01T11:59:15Z', '2019-12-04T11:59:15Z'] },
  {
    name: 'test_prune_simple2 daily=1 weekly=1 monthly=1',
    policy: { keepDaily: 1, keepWeekly: 1, keepMonthly: 1 },
    copies: all(simple2),
    kept: ['2019-11-22T11:59:15Z', '2019-12-01T11:59:15Z', '2019-12-04T11:59:15Z'],
  },
  { name: 'test_prune_simple2 monthly=1 yearly=1', policy: { keepMonthly: 1, keepYearly: 1 }, copies: all(simple2), kept: ['2018-11-15T11:59:15Z', '2019-12-04T11:59:15Z'] },
  { name: 'test_prune_simple last=4', policy: { keepLast: 4 }, copies: all(simple), kept: simple },
  { name: 'test_prune_simple last=3', policy: { keepLast: 3 }, copies: all(simple), kept: without(simple, ['2019-12-02T11:59:15Z']) },
  { name: 'test_prune_simple last=2', policy: { keepLast: 2 }, copies: all(simple), kept: ['2019-12-04T11:59:15Z', '2019-12-04T12:59:15Z'] },
  { name: 'test_prune_simple last=1', policy: { keepLast: 1 }, copies: all(simple), kept: ['2019-12-04T12:59:15Z'] },
  // test_prune_simple's keep-last=0 case is left out on purpose: PBS's bare
  // compute_prune_info removes all four there, but DESIGN (like pve-storage, and PBS's own
  // prune API, which treats "no option above 0" as keep-all) keeps everything.
  { name: 'test_prune_simple last=2 daily=2', policy: { keepLast: 2, keepDaily: 2 }, copies: all(simple), kept: simple },
  { name: 'test_prune_simple daily=3', policy: { keepDaily: 3 }, copies: all(simple), kept: without(simple, ['2019-12-04T11:59:15Z']) },
  { name: 'test_prune_simple daily=2', policy: { keepDaily: 2 }, copies: all(simple), kept: ['2019-12-03T11:59:15Z', '2019-12-04T12:59:15Z'] },
  { name: 'test_prune_simple weekly=5', policy: { keepWeekly: 5 }, copies: all(simple), kept: ['2019-12-04T12:59:15Z'] },
  { name: 'test_prune_simple daily=1 weekly=5', policy: { keepDaily: 1, keepWeekly: 5 }, copies: all(simple), kept: ['2019-12-04T12:59:15Z'] },
  { name: 'test_prune_simple monthly=6', policy: { keepMonthly: 6 }, copies: all(simple), kept: ['2019-12-04T12:59:15Z'] },
  { name: 'test_prune_simple yearly=7', policy: { keepYearly: 7 }, copies: all(simple), kept: ['2019-12-04T12:59:15Z'] },
  { name: 'test_prune_simple weekly=5 monthly=6 yearly=7', policy: { keepWeekly: 5, keepMonthly: 6, keepYearly: 7 }, copies: all(simple), kept: ['2019-12-04T12:59:15Z'] },
];

// pve's default qemu group: marks[0..4] are for these five, the sixth (11:18:51) is protected.
const pveDefault = ['2018-05-26T11:18:21Z', '2019-12-31T11:18:21Z', '2019-12-31T11:19:21Z', '2020-01-01T11:18:21Z', '2020-01-01T12:18:21Z'] as const;
const pveProtected = '2019-12-31T11:18:51Z';
type Mark = 'keep' | 'remove';
function pveGroup(name: string, policy: RetentionPolicy, marks: readonly [Mark, Mark, Mark, Mark, Mark]): PruneVector {
  return {
    name: `prune_backups_test.pm ${name}`,
    policy,
    copies: [...pveDefault.map((createdAt) => ({ createdAt })), { createdAt: pveProtected, protected: true }],
    kept: [...pveDefault.filter((_, i) => marks[i] === 'keep'), pveProtected],
  };
}

const pve: PruneVector[] = [
  pveGroup('last=3', { keepLast: 3 }, ['remove', 'remove', 'keep', 'keep', 'keep']),
  pveGroup('weekly=2', { keepWeekly: 2 }, ['keep', 'remove', 'remove', 'remove', 'keep']),
  pveGroup('daily=weekly=monthly=1 (hourly=0)', { keepHourly: 0, keepDaily: 1, keepWeekly: 1, keepMonthly: 1 }, ['keep', 'remove', 'keep', 'remove', 'keep']),
  pveGroup('hourly=4 (daily=0)', { keepHourly: 4, keepDaily: 0 }, ['keep', 'remove', 'keep', 'keep', 'keep']),
  pveGroup('yearly=2 (others 0)', { keepHourly: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 2 }, ['remove', 'remove', 'keep', 'remove', 'keep']),
  pveGroup('last=2,hourly=2', { keepLast: 2, keepHourly: 2 }, ['keep', 'remove', 'keep', 'keep', 'keep']),
  pveGroup('last=1,monthly=2', { keepLast: 1, keepMonthly: 2 }, ['keep', 'remove', 'keep', 'remove', 'keep']),
  pveGroup('monthly=3', { keepMonthly: 3 }, ['keep', 'remove', 'keep', 'remove', 'keep']),
  pveGroup('last=daily=weekly=1', { keepLast: 1, keepDaily: 1, keepWeekly: 1 }, ['keep', 'remove', 'keep', 'remove', 'keep']),
  pveGroup('last=daily=weekly=1, others zero', { keepHourly: 0, keepLast: 1, keepDaily: 1, keepWeekly: 1, keepMonthly: 0, keepYearly: 0 }, ['keep', 'remove', 'keep', 'remove', 'keep']),
  pveGroup('daily=2', { keepDaily: 2 }, ['remove', 'remove', 'keep', 'remove', 'keep']),
  pveGroup('weekly=monthly=1', { keepWeekly: 1, keepMonthly: 1 }, ['keep', 'remove', 'remove', 'remove', 'keep']),
  pveGroup('weekly=yearly=1', { keepWeekly: 1, keepYearly: 1 }, ['keep', 'remove', 'remove', 'remove', 'keep']),
  pveGroup('all missing', {}, ['keep', 'keep', 'keep', 'keep', 'keep']),
  pveGroup('all zero', { keepLast: 0, keepHourly: 0, keepDaily: 0, keepWeekly: 0, keepYearly: 0 }, ['keep', 'keep', 'keep', 'keep', 'keep']),
  pveGroup('some zero, some missing', { keepLast: 0, keepHourly: 0, keepDaily: 0, keepYearly: 0 }, ['keep', 'keep', 'keep', 'keep', 'keep']),
  // The lxc group of the default list: one backup, kept by every policy above.
  { name: 'prune_backups_test.pm lxc group last=1', policy: { keepLast: 1 }, copies: [{ createdAt: '2020-01-01T12:18:21Z' }], kept: ['2020-01-01T12:18:21Z'] },
  {
    name: 'prune_backups_test.pm yearly=1, year before 2000',
    policy: { keepYearly: 1 },
    copies: all(['1970-01-01T00:01:23Z', '2070-01-01T00:01:00Z']),
    kept: ['2070-01-01T00:01:00Z'],
  },
  {
    name: 'prune_backups_test.pm daily=weekly=monthly=1 threeway (month already covered by keep-weekly)',
    policy: { keepDaily: 1, keepWeekly: 1, keepMonthly: 1 },
    copies: all(['2019-12-25T12:18:21Z', '2019-12-31T12:18:21Z', '2020-01-01T12:18:21Z']),
    kept: ['2019-12-25T12:18:21Z', '2020-01-01T12:18:21Z'],
  },
  {
    name: 'prune_backups_test.pm daily=weekly=1 weekboundary',
    policy: { keepDaily: 1, keepWeekly: 1 },
    copies: all(['2020-12-03T12:18:21Z', '2020-12-04T12:18:21Z', '2020-12-07T12:18:21Z']),
    kept: ['2020-12-04T12:18:21Z', '2020-12-07T12:18:21Z'],
  },
];

export const PROXMOX_PRUNE_VECTORS: readonly PruneVector[] = [...pbs, ...pve];
