import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { readVerifications } from '../../functions/archive/verify-records';
import { runOffsite } from '../support/cli';
import { plantCopy, PRIMARY, SECONDARY, startTwoPlaces, type TwoPlaces } from '../support/two-places';

const HOUR = 3_600_000;

// The CLI as a user runs it, over an archive with a secondary: two local stores, copies
// planted in both as the copier and CopyToSecondary leave them.
function netboxTarget(name: string, schedule?: string): Record<string, unknown> {
  return { name, kind: 'netbox-cloud', baseUrl: 'http://127.0.0.1:9', orgId: 'org-1', instanceId: 'nb-1', credentials: { env: 'UNUSED_KEY' }, ...(schedule ? { schedule } : {}) };
}

interface VerifyJson {
  copies: { place: string; objectKey: string; result: string; expected: { sha256: string }; actual: { sha256: string | null } }[];
}

// Every CLI run starts its own process (a couple of seconds under tsx).
jest.setTimeout(90_000);

describe('verify, status and list over a primary and a secondary', () => {
  let directory: string;
  let stores: TwoPlaces;
  let env: Record<string, string>;

  async function useTargets(targets: Record<string, unknown>[]): Promise<void> {
    const configPath = join(directory, `config-${targets.map((target) => String(target.name)).join('-')}.json`);
    await writeFile(configPath, JSON.stringify({ archive: stores.archive, timezone: 'Europe/Berlin', targets }));
    env = { ...stores.env, OFFSITE_CONFIG: configPath };
  }

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offsite-places-'));
    stores = await startTwoPlaces(join(directory, 's3'));
  });

  afterAll(async () => {
    await stores.stop();
    await rm(directory, { recursive: true, force: true });
  });

  test('verify reads every copy in both places, exits 0 when all match, and records each place in its own records', async () => {
    // Prepare
    await useTargets([netboxTarget('sound')]);
    const older = await plantCopy(stores, 'sound', new Date('2026-01-01T02:00:00Z'), randomBytes(4096));
    const newer = await plantCopy(stores, 'sound', new Date('2026-01-02T02:00:00Z'), randomBytes(1000));

    // Act
    const result = await runOffsite(['verify', 'sound', '--json'], env);

    // Assess
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as VerifyJson;
    expect(report.copies.map((copy) => [copy.place, copy.objectKey, copy.result])).toEqual([
      ['primary', newer.primaryKey, 'ok'],
      ['primary', older.primaryKey, 'ok'],
      ['secondary', newer.secondaryKey, 'ok'],
      ['secondary', older.secondaryKey, 'ok'],
    ]);
    expect([...(await readVerifications(stores.primaryS3, PRIMARY.bucket, PRIMARY.prefix, 'sound')).keys()].sort()).toEqual([older.primaryKey, newer.primaryKey].sort());
    expect([...(await readVerifications(stores.secondaryS3, SECONDARY.bucket, SECONDARY.prefix, 'sound')).keys()].sort()).toEqual([older.secondaryKey, newer.secondaryKey].sort());
  });

  test('a corrupted primary copy makes verify exit 1 naming the primary and its key, while its secondary copy is ok', async () => {
    // Prepare
    await useTargets([netboxTarget('rotten')]);
    const copy = await plantCopy(stores, 'rotten', new Date('2026-01-01T02:00:00Z'), randomBytes(4096));
    await stores.primary.rotObject(PRIMARY.bucket, copy.primaryKey);

    // Act
    const json = await runOffsite(['verify', 'rotten', '--json'], env);
    const text = await runOffsite(['verify', 'rotten'], env);

    // Assess
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as VerifyJson;
    expect(report.copies.map((entry) => [entry.place, entry.objectKey, entry.result])).toEqual([
      ['primary', copy.primaryKey, 'differs'],
      ['secondary', copy.secondaryKey, 'ok'],
    ]);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`verify failed: ${copy.primaryKey} in the primary differs from its manifest`);
    expect(text.stderr).not.toContain(`${copy.secondaryKey} in the secondary`);
    expect(text.stdout).toMatch(new RegExp(`^DIFFERS  primary\\s+${copy.primaryKey}`, 'm'));
  });

  test('a copy the secondary lacks makes verify exit 1 naming it missing in the secondary', async () => {
    // Prepare
    await useTargets([netboxTarget('half')]);
    const held = await plantCopy(stores, 'half', new Date('2026-01-01T02:00:00Z'), randomBytes(100));
    const lacking = await plantCopy(stores, 'half', new Date('2026-01-02T02:00:00Z'), randomBytes(100), { secondary: 'none' });

    // Act
    const json = await runOffsite(['verify', 'half', '--json'], env);
    const text = await runOffsite(['verify', 'half'], env);

    // Assess
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as VerifyJson;
    const bad = report.copies.filter((entry) => entry.result !== 'ok');
    expect(bad).toEqual([expect.objectContaining({ place: 'secondary', objectKey: lacking.secondaryKey, result: 'missing', expected: expect.objectContaining({ sha256: lacking.manifest.sha256 }) })]);
    expect(report.copies.filter((entry) => entry.objectKey === held.secondaryKey).map((entry) => entry.result)).toEqual(['ok']);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`verify failed: ${lacking.secondaryKey} in the secondary is missing`);
  });

  test('a secondary copy whose manifest names other bytes than the primary’s is reported as differing from the primary’s manifest', async () => {
    // Prepare
    await useTargets([netboxTarget('swapped')]);
    const copy = await plantCopy(stores, 'swapped', new Date('2026-01-01T02:00:00Z'), randomBytes(100), { secondary: 'other-bytes' });

    // Act
    const result = await runOffsite(['verify', 'swapped'], env);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`verify failed: ${copy.secondaryKey} in the secondary differs from the primary's manifest`);
  });

  test('status shows a column per place, and a target is stale when its secondary is behind though its primary is fresh', async () => {
    // Prepare: a daily schedule allows 24 h + the 3 h poll budget + 1 h.
    const now = Date.now();
    await useTargets([netboxTarget('both', 'cron(0 2 * * ? *)'), netboxTarget('lagging', 'cron(0 2 * * ? *)')]);
    await plantCopy(stores, 'both', new Date(now - 2 * HOUR), randomBytes(100));
    const old = await plantCopy(stores, 'lagging', new Date(now - 50 * HOUR), randomBytes(100));
    await plantCopy(stores, 'lagging', new Date(now - 2 * HOUR), randomBytes(100), { secondary: 'none' });

    // Act
    const json = await runOffsite(['status', '--json'], env);
    const text = await runOffsite(['status'], env);

    // Assess
    expect(json.code).toBe(1);
    const status = JSON.parse(json.stdout) as { targets: { name: string; state: string; lastCopyAt: string; heldInBoth: number; places: { primary: { state: string }; secondary: { state: string; lastCopyAt: string; missingCopies: number } } }[] };
    const byName = new Map(status.targets.map((target) => [target.name, target]));
    expect(byName.get('both')).toMatchObject({ state: 'ok', heldInBoth: 1, places: { primary: { state: 'ok' }, secondary: { state: 'ok', missingCopies: 0 } } });
    expect(byName.get('lagging')).toMatchObject({
      state: 'stale',
      lastCopyAt: new Date(now - 2 * HOUR).toISOString(),
      heldInBoth: 1,
      places: { primary: { state: 'ok' }, secondary: { state: 'stale', lastCopyAt: old.manifest.createdAt, missingCopies: 1 } },
    });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^TARGET\s+KIND\s+STATE\s+PRIMARY\s+SECONDARY\s+NEWEST COPY\s/m);
    expect(text.stdout).toMatch(/^both\s+netbox-cloud\s+ok\s+ok\s+ok\s/m);
    expect(text.stdout).toMatch(/^lagging\s+netbox-cloud\s+STALE\s+ok\s+STALE, 1 MISSING\s/m);
    expect(text.stderr).toContain('lagging is stale in the secondary');
  });

  test('list says of each copy whether the secondary holds it verified, lacks it or holds other bytes', async () => {
    // Prepare
    await useTargets([netboxTarget('listed')]);
    const held = await plantCopy(stores, 'listed', new Date('2026-01-01T02:00:00Z'), randomBytes(100));
    const lacking = await plantCopy(stores, 'listed', new Date('2026-01-02T02:00:00Z'), randomBytes(100), { secondary: 'none' });
    const other = await plantCopy(stores, 'listed', new Date('2026-01-03T02:00:00Z'), randomBytes(100), { secondary: 'other-bytes' });
    const onlyThere = await plantCopy(stores, 'listed', new Date('2025-12-31T02:00:00Z'), randomBytes(100));
    await stores.primaryS3.send(new DeleteObjectCommand({ Bucket: PRIMARY.bucket, Key: `${onlyThere.primaryKey}.manifest.json` }));
    await stores.primaryS3.send(new DeleteObjectCommand({ Bucket: PRIMARY.bucket, Key: onlyThere.primaryKey }));

    // Act
    const json = await runOffsite(['list', 'listed', '--json'], env);
    const text = await runOffsite(['list', 'listed'], env);

    // Assess
    expect(json.code).toBe(0);
    const listing = JSON.parse(json.stdout) as { copies: { manifest: { objectKey: string }; secondary: string }[]; secondary: { copiesOnlyThere: { manifest: { objectKey: string } }[] } };
    expect(listing.copies.map((copy) => [copy.manifest.objectKey, copy.secondary])).toEqual([
      [other.primaryKey, 'differs'],
      [lacking.primaryKey, 'missing'],
      [held.primaryKey, 'verified'],
    ]);
    expect(listing.secondary.copiesOnlyThere.map((copy) => copy.manifest.objectKey)).toEqual([onlyThere.secondaryKey]);
    expect(text.stdout).toMatch(/SOURCE BACKUP\s+SECONDARY\s+KEY/);
    expect(text.stdout).toMatch(new RegExp(`missing\\s+${lacking.primaryKey}`));
    expect(text.stdout).toContain(`Held only in the secondary (s3://${SECONDARY.bucket}/${SECONDARY.prefix})`);
  });
});
