import { PutObjectCommand } from '@aws-sdk/client-s3';
import { listArchivedCopies } from '../../functions/archive/listing';
import { localStoreForSuite } from '../support/local-store';

const BUCKET = 'offsite-archive';
const local = localStoreForSuite('catalog-audit-test-', [BUCKET]);

test("audit reports under <prefix><target>/audit/ are neither copies nor 'objects without a manifest'", async () => {
  // Prepare
  for (const key of ['backups/dc1/audit/2026-04-02T06-00-00Z.json', 'backups/dc1/audit/2026-04-02T06-00-00Z.md', 'backups/dc1/audit/work/run-1/virtual-machines.json']) {
    await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{}' }));
  }
  await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'backups/dc1/stray.bin', Body: 'x' }));

  // Act
  const listing = await listArchivedCopies(local.s3, BUCKET, 'backups/', 'dc1');

  // Assess
  expect(listing.withoutManifest).toEqual(['backups/dc1/stray.bin']);
  expect(listing.copies).toEqual([]);
  expect(listing.unreadableManifests).toEqual([]);
});

test('a manifest naming an object other than the one beside it is unreadable, not a copy of that other object', async () => {
  // Prepare: backups/old/ copied to backups/new/ — the manifests in new/ still name old/'s objects.
  const manifest = {
    formatVersion: 1, target: 'old', kind: 'netbox-cloud', sourceBackupId: 'b-1', objectKey: 'backups/old/2026-04-02T02-00-00Z_b-1.backup',
    sizeBytes: 1, sha256: '0'.repeat(64), sourceChecksum: null, sourceChecksumAlgorithm: null, sourceChecksumVerified: false,
    sourceSizeBytes: null, createdAt: '2026-04-02T02:00:00Z', copiedAt: '2026-04-02T02:01:00Z', contentType: 'application/octet-stream', source: {},
  };
  await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'backups/new/2026-04-02T02-00-00Z_b-1.backup', Body: 'x' }));
  await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'backups/new/2026-04-02T02-00-00Z_b-1.backup.manifest.json', Body: JSON.stringify(manifest) }));

  // Act
  const listing = await listArchivedCopies(local.s3, BUCKET, 'backups/', 'new');

  // Assess
  expect(listing.copies).toEqual([]);
  expect(listing.unreadableManifests).toEqual(['backups/new/2026-04-02T02-00-00Z_b-1.backup.manifest.json']);
});

test('copies made in the same vendor second: the one archived later is the newer, whatever order the keys list in', async () => {
  // Prepare: appliance backup times are whole seconds; neither the keys' order nor its reverse is the order the copies were made in.
  const copyOf = (sourceBackupId: string, copiedAt: string) => {
    const objectKey = `backups/same-second/2026-04-02T02-00-00Z_${sourceBackupId}.tgz`;
    return {
      objectKey,
      manifest: {
        formatVersion: 1, target: 'same-second', kind: 'appliance', sourceBackupId, objectKey, sizeBytes: 1, sha256: '0'.repeat(64), sourceChecksum: null,
        sourceChecksumAlgorithm: null, sourceChecksumVerified: false, sourceSizeBytes: null, createdAt: '2026-04-02T02:00:00Z', copiedAt, contentType: 'application/gzip', source: {},
      },
    };
  };
  const copies = [copyOf('b-bbb', '2026-04-02T02:00:01.200Z'), copyOf('a-aaa', '2026-04-02T02:00:01.500Z'), copyOf('c-ccc', '2026-04-02T02:00:01.900Z')];
  for (const { objectKey, manifest } of copies) {
    await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: 'x' }));
    await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${objectKey}.manifest.json`, Body: JSON.stringify(manifest) }));
  }

  // Act
  const listing = await listArchivedCopies(local.s3, BUCKET, 'backups/', 'same-second');

  // Assess
  expect(listing.copies.map((copy) => copy.manifest.sourceBackupId)).toEqual(['c-ccc', 'a-aaa', 'b-bbb']);
});
