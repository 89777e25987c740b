import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { archiveKeyFor, manifestKeyFor, type Manifest } from '../../functions/archive/manifest';
import { verifyOldestFirst } from '../../functions/archive/verify';
import { readVerifications } from '../../functions/archive/verify-records';
import { localStoreForSuite } from '../support/local-store';

const BUCKET = 'verify-oldest-first';
const PREFIX = 'backups/';
const SIZE = 1000;
const local = localStoreForSuite('verify-oldest-', [BUCKET]);

/** A copy as the copier leaves it; `copiedAt` stands for "last verified" until a verify records otherwise. */
async function plant(target: string, copiedAt: string, body: Buffer = Buffer.alloc(SIZE, copiedAt)): Promise<string> {
  const objectKey = archiveKeyFor(PREFIX, target, copiedAt, `b-${copiedAt}`, '.backup');
  await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: body }));
  const manifest: Manifest = {
    formatVersion: 1, target, kind: 'netbox-cloud', sourceBackupId: `b-${copiedAt}`, objectKey, sizeBytes: SIZE,
    sha256: createHash('sha256').update(Buffer.alloc(SIZE, copiedAt)).digest('hex'), sourceChecksum: null, sourceChecksumAlgorithm: null,
    sourceChecksumVerified: false, sourceSizeBytes: SIZE, createdAt: copiedAt, copiedAt, contentType: 'application/octet-stream', source: {},
  };
  await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: manifestKeyFor(objectKey), Body: JSON.stringify(manifest) }));
  return objectKey;
}

test('runs within a byte budget read the copies verified longest ago first, across targets, and go on where the last run stopped', async () => {
  // Prepare
  const oldest = await plant('alpha', '2026-01-01T00:00:00.000Z');
  const middle = await plant('beta', '2026-02-01T00:00:00.000Z');
  const newest = await plant('alpha', '2026-03-01T00:00:00.000Z');
  const archive = [{ name: 'primary' as const, s3: local.s3, bucket: BUCKET, prefix: PREFIX }];
  let now = Date.parse('2026-06-01T00:00:00Z');
  const clock = (): Date => new Date((now += 1000));

  // Act
  const first = await verifyOldestFirst(archive, ['alpha', 'beta'], clock, { budgetBytes: 2 * SIZE });
  const afterFirst = await readVerifications(local.s3, BUCKET, PREFIX, 'alpha');
  const second = await verifyOldestFirst(archive, ['alpha', 'beta'], clock, { budgetBytes: 2 * SIZE });

  // Assess
  expect(first).toMatchObject({ checked: 2, ok: 2, remaining: 1, bad: [], unread: [], notInSecondary: 0 });
  expect([...afterFirst.keys()]).toEqual([oldest]);
  expect(second).toMatchObject({ checked: 2, remaining: 1 });
  expect((await readVerifications(local.s3, BUCKET, PREFIX, 'alpha')).has(newest)).toBe(true);
  expect((await readVerifications(local.s3, BUCKET, PREFIX, 'beta')).has(middle)).toBe(true);
});

test('a copy that cannot be read is reported unread, and a bad copy found in the same run is still recorded', async () => {
  // Prepare
  const unreadable = await plant('gamma', '2025-01-01T00:00:00.000Z');
  const rotten = await plant('gamma', '2025-02-01T00:00:00.000Z', Buffer.alloc(SIZE, 'rot'));
  const failing = {
    send: (command: unknown) => {
      if (command instanceof GetObjectCommand && command.input.Key === unreadable) return Promise.reject(Object.assign(new Error('slow down'), { name: 'SlowDown' }));
      return local.s3.send(command as GetObjectCommand);
    },
  } as unknown as S3Client;

  // Act
  const summary = await verifyOldestFirst([{ name: 'primary', s3: failing, bucket: BUCKET, prefix: PREFIX }], ['gamma'], () => new Date('2026-06-02T00:00:00Z'), { budgetBytes: 10 * SIZE });

  // Assess
  expect(summary.unread).toEqual([{ place: 'primary', target: 'gamma', objectKey: unreadable, error: 'SlowDown: slow down' }]);
  expect(summary.bad).toEqual([{ place: 'primary', target: 'gamma', objectKey: rotten, result: 'differs' }]);
  const records = await readVerifications(local.s3, BUCKET, PREFIX, 'gamma');
  expect(records.get(rotten)?.result).toBe('differs');
  expect(records.has(unreadable)).toBe(false);
});
