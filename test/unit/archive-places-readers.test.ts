import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type OffsiteConfig } from '../../functions/config/schema';
import { badCopiesReason, checkFreshness, overdueReason } from '../../functions/archive/freshness';
import { targetStatusInPlaces } from '../../functions/archive/status';
import { verifyOldestFirst } from '../../functions/archive/verify';
import { readVerifications } from '../../functions/archive/verify-records';
import { plantCopy, PRIMARY, SECONDARY, startTwoPlaces, type TwoPlaces } from '../support/two-places';

const HOUR = 3_600_000;
const SIZE = 1000;
let directory: string;
let stores: TwoPlaces;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'places-readers-'));
  stores = await startTwoPlaces(directory);
});

afterAll(async () => {
  await stores.stop();
  await rm(directory, { recursive: true, force: true });
});

function configWith(targets: readonly string[]): OffsiteConfig {
  return configSchema.parse({
    archive: stores.archive,
    timezone: 'UTC',
    targets: targets.map((name) => ({ name, kind: 'netbox-cloud', baseUrl: 'http://127.0.0.1:9', orgId: 'org-1', instanceId: 'nb-1', credentials: { env: 'UNUSED' }, schedule: 'rate(1 day)' })),
  });
}

describe('the scheduled verify over both places', () => {
  test('reads the copies verified longest ago across both places within one byte budget, and records each in its own place', async () => {
    // Prepare: the secondary copy of "one" was verified (copied) before both primary copies.
    const one = await plantCopy(stores, 'sched-a', new Date('2026-01-02T00:00:00Z'), randomBytes(SIZE), { secondary: 'none' });
    const two = await plantCopy(stores, 'sched-b', new Date('2026-01-01T00:00:00Z'), randomBytes(SIZE));
    let now = Date.parse('2026-06-01T00:00:00Z');
    const clock = (): Date => new Date((now += 1000));

    // Act
    const summary = await verifyOldestFirst(stores.places, ['sched-a', 'sched-b'], clock, { budgetBytes: 2 * SIZE });

    // Assess: two.primary and two.secondary (copied 01-01) go before one.primary (01-02); the budget stops there.
    expect(summary).toMatchObject({ checked: 2, ok: 2, remaining: 1, bad: [], unread: [], notInSecondary: 1 });
    expect([...(await readVerifications(stores.primaryS3, PRIMARY.bucket, PRIMARY.prefix, 'sched-b')).keys()]).toEqual([two.primaryKey]);
    expect([...(await readVerifications(stores.secondaryS3, SECONDARY.bucket, SECONDARY.prefix, 'sched-b')).keys()]).toEqual([two.secondaryKey]);
    expect((await readVerifications(stores.primaryS3, PRIMARY.bucket, PRIMARY.prefix, 'sched-a')).has(one.primaryKey)).toBe(false);
  });

  test('a corrupted secondary copy is reported with its place, and recorded bad in the secondary only', async () => {
    // Prepare
    const copy = await plantCopy(stores, 'sched-rot', new Date('2025-01-01T00:00:00Z'), randomBytes(SIZE));
    await stores.secondary.rotObject(SECONDARY.bucket, copy.secondaryKey);

    // Act
    const summary = await verifyOldestFirst(stores.places, ['sched-rot'], () => new Date('2026-06-02T00:00:00Z'), { budgetBytes: 10 * SIZE });

    // Assess
    expect(summary.bad).toEqual([{ place: 'secondary', target: 'sched-rot', objectKey: copy.secondaryKey, result: 'differs' }]);
    expect((await readVerifications(stores.secondaryS3, SECONDARY.bucket, SECONDARY.prefix, 'sched-rot')).get(copy.secondaryKey)?.result).toBe('differs');
    expect((await readVerifications(stores.primaryS3, PRIMARY.bucket, PRIMARY.prefix, 'sched-rot')).get(copy.primaryKey)?.result).toBe('ok');
  });
});

describe('the bad-copies alarm reason', () => {
  test('names the place with each key when there is a secondary', () => {
    // Act
    const reason = badCopiesReason(
      [
        { place: 'primary', objectKey: 'backups/a/1.backup', result: 'differs' },
        { place: 'secondary', objectKey: 'mirror/a/2.backup', result: 'missing' },
      ],
      true,
    );

    // Assess
    expect(reason).toBe('2 archived copies failed verification: backups/a/1.backup (differs in the primary), mirror/a/2.backup (missing in the secondary). Run `offsite verify <target>`.');
  });

  test('reads as it always did without a secondary', () => {
    // Act
    const reason = badCopiesReason([{ place: 'primary', objectKey: 'backups/a/1.backup', result: 'differs' }], false);

    // Assess
    expect(reason).toBe('1 archived copies failed verification: backups/a/1.backup (differs). Run `offsite verify <target>`.');
  });
});

describe('freshness over both places', () => {
  test('a target whose secondary lacks its recent copies is behind, and the alarm reason names the secondary', async () => {
    // Prepare: a fresh copy in the primary; the secondary's newest is two days old.
    const now = new Date();
    await plantCopy(stores, 'fresh-both', new Date(now.getTime() - 2 * HOUR), randomBytes(10));
    const old = await plantCopy(stores, 'fresh-lagging', new Date(now.getTime() - 50 * HOUR), randomBytes(10));
    await plantCopy(stores, 'fresh-lagging', new Date(now.getTime() - 2 * HOUR), randomBytes(10), { secondary: 'none' });

    // Act
    const report = await checkFreshness(configWith(['fresh-both', 'fresh-lagging']), stores.places, now);

    // Assess
    expect(report.checked).toBe(2);
    expect(report.overdue).toEqual([{ name: 'fresh-lagging', state: 'stale', lastCopyAt: new Date(now.getTime() - 2 * HOUR).toISOString(), behind: [{ place: 'secondary', state: 'stale', lastCopyAt: old.manifest.createdAt }] }]);
    expect(overdueReason(report)).toBe(`1 of 2 scheduled targets have no fresh verified copy: fresh-lagging (secondary: newest ${old.manifest.createdAt}). \`offsite status\` shows each.`);
  });

  test('a target with nothing in either place names both places', () => {
    // Act
    const reason = overdueReason({
      checked: 1,
      overdue: [{ name: 'db', state: 'never', lastCopyAt: null, behind: [{ place: 'primary', state: 'never', lastCopyAt: null }, { place: 'secondary', state: 'never', lastCopyAt: null }] }],
    });

    // Assess
    expect(reason).toBe('1 of 1 scheduled targets have no fresh verified copy: db (primary: never backed up; secondary: never copied). `offsite status` shows each.');
  });
});

describe('status over both places', () => {
  test('a target whose backups the provider holds is judged on the primary alone: nothing of it is in the secondary', () => {
    // Prepare: a fresh catalogue record in the primary, nothing in the secondary.
    const now = new Date('2026-06-01T12:00:00Z');
    const config = configSchema.parse({
      archive: stores.archive,
      timezone: 'UTC',
      targets: [{ name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 1, credentials: { env: 'UNUSED' }, schedule: 'rate(1 day)' }],
    });
    const [target] = config.targets;
    if (!target) throw new Error('no target');
    const record = {
      formatVersion: 1 as const, storage: 'provider' as const, target: 'web-01', kind: 'vps', sourceBackupId: '7', objectKey: null, sha256: null, sourceType: 'manual',
      sourceSizeBytes: 10, createdAt: '2026-06-01T02:00:00Z', expiresAt: null, recordedAt: '2026-06-01T02:05:00Z', source: {},
    };
    const empty = { copies: [], providerRecords: [], withoutManifest: [], unreadableManifests: [] };

    // Act
    const status = targetStatusInPlaces(
      target,
      'UTC',
      { place: stores.places[0], listing: { ...empty, providerRecords: [{ manifestKey: 'backups/web-01/x.manifest.json', record }] }, records: new Map() },
      { place: stores.places[1], listing: empty, records: new Map() },
      now,
    );

    // Assess
    expect(status).toMatchObject({ state: 'ok', heldBy: 'provider', places: { primary: { state: 'ok' }, secondary: null } });
  });
});
