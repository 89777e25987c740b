import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { listArchivedCopies } from '../../functions/archive/catalog';
import { localS3Client } from '../support/harness';

const BUCKET = 'offsite-archive';
let directory: string;
let store: LocalS3;
let s3: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'catalog-audit-test-'));
  store = await startLocalS3({ directory, buckets: [BUCKET] });
  s3 = localS3Client(store);
});

afterAll(async () => {
  s3.destroy();
  await store.stop();
  await rm(directory, { recursive: true, force: true });
});

test("audit reports under <prefix><target>/audit/ are neither copies nor 'objects without a manifest'", async () => {
  // Prepare
  for (const key of ['backups/dc1/audit/2026-04-02T06-00-00Z.json', 'backups/dc1/audit/2026-04-02T06-00-00Z.md', 'backups/dc1/audit/work/run-1/virtual-machines.json']) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{}' }));
  }
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'backups/dc1/stray.bin', Body: 'x' }));

  // Act
  const listing = await listArchivedCopies(s3, BUCKET, 'backups/', 'dc1');

  // Assess
  expect(listing.withoutManifest).toEqual(['backups/dc1/stray.bin']);
  expect(listing.copies).toEqual([]);
  expect(listing.unreadableManifests).toEqual([]);
});
