import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { archiveKeyFor, manifestKeyFor } from '../../functions/archive/manifest';
import { localS3Client } from '../support/harness';
import { runOffsite } from '../support/cli';
import { putArchivedCopy } from '../support/archived-copy';

const BUCKET = 'verify-status-test';
const PREFIX = 'backups/';
const HOUR = 3_600_000;

// The CLI as a user runs it: the package's `offsite` bin, in its own process.
function netboxTarget(name: string, schedule?: string): Record<string, unknown> {
  return {
    name,
    kind: 'netbox-cloud',
    baseUrl: 'http://127.0.0.1:9',
    orgId: 'org-1',
    instanceId: 'nb-1',
    credentials: { env: 'UNUSED_KEY' },
    ...(schedule ? { schedule } : {}),
  };
}

/** A copy as the copier leaves it: the object, then its manifest. */
async function plant(s3: S3Client, target: string, createdAt: Date, bytes: Buffer): Promise<string> {
  const sourceBackupId = `b-${createdAt.getTime()}`;
  const objectKey = archiveKeyFor(PREFIX, target, createdAt.toISOString(), sourceBackupId, '.backup');
  await putArchivedCopy(s3, BUCKET, { target, objectKey, sourceBackupId, createdAt: createdAt.toISOString(), bytes });
  return objectKey;
}

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

// Every CLI run starts its own process (a couple of seconds under tsx).
jest.setTimeout(90_000);

describe('offsite verify and offsite status against planted archives', () => {
  let directory: string;
  let store: LocalS3;
  let s3: S3Client;
  let env: Record<string, string>;

  async function useTargets(targets: Record<string, unknown>[]): Promise<void> {
    const configPath = join(directory, `config-${targets.map((target) => String(target.name)).join('-')}.json`);
    const config = { archive: { bucket: BUCKET, prefix: PREFIX, region: store.region, endpoint: store.endpoint, forcePathStyle: true }, timezone: 'Europe/Berlin', targets };
    await writeFile(configPath, JSON.stringify(config));
    env = { OFFSITE_CONFIG: configPath, AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, AWS_REGION: store.region };
  }

  /** Flips one byte of an object where the store keeps it on disk: the size stays, the content rots. */
  async function corrupt(objectKey: string): Promise<void> {
    const stored = join(directory, 's3', BUCKET, `${objectKey}._S3rver_object`);
    const file = (await filesUnder(join(directory, 's3'))).find((path) => path === stored);
    if (!file) throw new Error(`no stored file for ${objectKey}`);
    const bytes = await readFile(file);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
  }

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offsite-verify-status-'));
    store = await startLocalS3({ directory: join(directory, 's3'), buckets: [BUCKET] });
    s3 = localS3Client(store);
  });

  afterAll(async () => {
    await store.stop();
    await rm(directory, { recursive: true, force: true });
  });

  test('verify exits 0 and reports ok for every copy that matches its manifest', async () => {
    // Prepare
    await useTargets([netboxTarget('sound')]);
    const keys = [await plant(s3, 'sound', new Date('2026-01-01T02:00:00Z'), randomBytes(4096)), await plant(s3, 'sound', new Date('2026-01-02T02:00:00Z'), randomBytes(1000))];

    // Act
    const result = await runOffsite(['verify', 'sound', '--json'], env);

    // Assess
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { target: string; copies: { objectKey: string; place: string; result: string; expected: unknown; actual: unknown }[] };
    expect(report.target).toBe('sound');
    // Without a secondary every copy is the primary's, and nothing else is added.
    expect(report.copies.map((copy) => copy.place)).toEqual(['primary', 'primary']);
    expect(Object.keys(report).sort()).toEqual(['copies', 'target', 'unreadableManifests']);
    expect(report.copies.map((copy) => [copy.objectKey, copy.result]).sort()).toEqual(keys.map((key) => [key, 'ok']).sort());
    expect(report.copies[0]?.actual).toEqual(report.copies[0]?.expected);
  });

  test('a copy corrupted in the store makes verify exit 1 naming it as differs, another deleted as missing', async () => {
    // Prepare
    await useTargets([netboxTarget('rotten')]);
    const good = await plant(s3, 'rotten', new Date('2026-01-01T02:00:00Z'), randomBytes(4096));
    const rotten = await plant(s3, 'rotten', new Date('2026-01-02T02:00:00Z'), randomBytes(4096));
    const gone = await plant(s3, 'rotten', new Date('2026-01-03T02:00:00Z'), randomBytes(4096));
    await corrupt(rotten);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: gone }));

    // Act
    const json = await runOffsite(['verify', 'rotten', '--json'], env);
    const text = await runOffsite(['verify', 'rotten'], env);

    // Assess
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { copies: { objectKey: string; result: string; expected: { sizeBytes: number; sha256: string }; actual: { sizeBytes: number | null; sha256: string | null } }[] };
    const byKey = new Map(report.copies.map((copy) => [copy.objectKey, copy]));
    expect(byKey.get(good)?.result).toBe('ok');
    expect(byKey.get(rotten)).toMatchObject({ result: 'differs', actual: { sizeBytes: 4096 } });
    expect(byKey.get(rotten)?.actual.sha256).not.toBe(byKey.get(rotten)?.expected.sha256);
    expect(byKey.get(gone)).toMatchObject({ result: 'missing', actual: { sizeBytes: null, sha256: null } });
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`verify failed: ${rotten} differs from its manifest`);
    expect(text.stderr).toContain(`verify failed: ${gone} is missing`);
    expect(text.stderr).not.toContain(good);
  });

  test('a manifest that cannot be read makes verify exit 1 naming it, though every readable copy matches', async () => {
    // Prepare
    await useTargets([netboxTarget('garbled')]);
    await plant(s3, 'garbled', new Date('2026-01-01T02:00:00Z'), randomBytes(1000));
    const hidden = await plant(s3, 'garbled', new Date('2026-01-02T02:00:00Z'), randomBytes(1000));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: manifestKeyFor(hidden), Body: '{ truncated' }));

    // Act
    const result = await runOffsite(['verify', 'garbled', '--json'], env);

    // Assess
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { unreadableManifests: string[] }).unreadableManifests).toEqual([manifestKeyFor(hidden)]);
    expect(result.stderr).toContain(`verify failed: manifest ${manifestKeyFor(hidden)} cannot be read`);
  });

  test('status names every state and exits 1 while a scheduled target has no fresh copy', async () => {
    // Prepare: a daily schedule allows 24 h + the 3 h poll budget + 1 h.
    const now = Date.now();
    await useTargets([
      netboxTarget('fresh', 'cron(0 2 * * ? *)'),
      netboxTarget('old', 'cron(0 2 * * ? *)'),
      netboxTarget('empty', 'cron(0 2 * * ? *)'),
      netboxTarget('manual'),
    ]);
    await plant(s3, 'fresh', new Date(now - 2 * HOUR), randomBytes(100));
    await plant(s3, 'old', new Date(now - 30 * HOUR), randomBytes(100));
    await plant(s3, 'manual', new Date(now - 90 * 24 * HOUR), randomBytes(100));

    // Act
    const json = await runOffsite(['status', '--json'], env);
    const text = await runOffsite(['status'], env);

    // Assess
    expect(json.code).toBe(1);
    const status = JSON.parse(json.stdout) as { targets: { name: string; kind: string; state: string; lastCopyAt: string | null; copies: number; bytes: number; nextRunAt: string | null }[] };
    expect(status.targets.map((target) => [target.name, target.state])).toEqual([
      ['fresh', 'ok'],
      ['old', 'stale'],
      ['empty', 'never'],
      ['manual', 'unscheduled'],
    ]);
    expect(status.targets[0]).toMatchObject({ kind: 'netbox-cloud', copies: 1, bytes: 100, lastCopyAt: new Date(now - 2 * HOUR).toISOString() });
    expect(status.targets[2]).toMatchObject({ lastCopyAt: null, copies: 0, bytes: 0 });
    // The next run is 02:00 in Berlin: 00:00 or 01:00 UTC.
    expect(status.targets[0]?.nextRunAt).toMatch(/T0[01]:00:00\.000Z$/);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^TARGET\s+KIND\s+STATE\s+NEWEST COPY\s+AGE\s+SIZE\s+COPIES\s+BYTES\s+NEXT RUN\s+LAST VERIFIED$/m);
    expect(text.stdout).toMatch(/^old\s+netbox-cloud\s+STALE\s/m);
    expect(text.stderr).toContain('old is stale');
    expect(text.stderr).toContain('empty is scheduled but has no verified copy yet');
  });

  test('status exits 0 when every scheduled target is ok, whatever unscheduled ones hold', async () => {
    // Prepare: targets planted by the test before.
    await useTargets([netboxTarget('fresh', 'cron(0 2 * * ? *)'), netboxTarget('manual')]);

    // Act
    const result = await runOffsite(['status'], env);

    // Assess
    expect(result.code).toBe(0);
  });

  test('a copy verify found bad no longer counts as verified: status falls back to the older good one', async () => {
    // Prepare: a weekly target whose newer copy rots; its older one is too old alone.
    const now = Date.now();
    await useTargets([netboxTarget('weekly', 'rate(1 day)')]);
    await plant(s3, 'weekly', new Date(now - 40 * HOUR), randomBytes(100));
    const newest = await plant(s3, 'weekly', new Date(now - HOUR), randomBytes(100));
    const before = JSON.parse((await runOffsite(['status', '--json'], env)).stdout) as { targets: { state: string }[] };
    await corrupt(newest);

    // Act
    const verify = await runOffsite(['verify', 'weekly'], env);
    const after = await runOffsite(['status', '--json'], env);

    // Assess
    expect(before.targets[0]?.state).toBe('ok');
    expect(verify.code).toBe(1);
    expect(after.code).toBe(1);
    const status = JSON.parse(after.stdout) as { targets: { state: string; lastCopyAt: string; badCopies: number; copies: number }[] };
    expect(status.targets[0]).toMatchObject({ state: 'stale', lastCopyAt: new Date(now - 40 * HOUR).toISOString(), badCopies: 1, copies: 2 });
  });
});
