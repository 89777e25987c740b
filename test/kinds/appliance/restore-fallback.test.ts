import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SANDBOX_APPLIANCE_TARGET } from '../../../bin/sandbox/appliance/sandbox-round';
import { manifestKeyFor } from '../../../functions/archive/manifest';
import { applianceKind } from '../../../functions/kinds/appliance/kind';
import { findTargetOfKind } from '../../../functions/config/load';
import { readObject, SANDBOX_BUCKET, sha256, startHarness, type Harness } from '../../support/harness';
import { copyToSecondaryForTest, startSecondaryStore, type PlaceAt, type SecondaryStore } from '../../support/secondary-copy';

const SECONDARY_BUCKET = 'offsite-second-place';
const SECONDARY_PREFIX = 'second/';

interface BackupOutput {
  backup: { backupId: string };
  archive: { objectKey: string; sizeBytes: number; sha256: string };
}

interface RestoreOutput {
  plan: { mode: string; archive: { objectKey: string; place: string } | null; archiveFallback: { objectKey: string; place: string } | null; placeReason: string | null };
  uploaded?: { backupId: string };
  archiveSource?: { place: string; url: string; objectKey: string; reason: string | null };
}

const restoreLatest = { target: SANDBOX_APPLIANCE_TARGET, backupId: 'latest', confirm: SANDBOX_APPLIANCE_TARGET };

describe('appliance restore from the archive falls back to the secondary (real ASL, two local stores)', () => {
  let harness: Harness;
  let secondaryStore: SecondaryStore;
  let primary: PlaceAt;
  let secondary: PlaceAt;

  beforeEach(async () => {
    // Prepare: the sandbox's store is the primary; a second local store is the secondary.
    harness = await startHarness();
    secondaryStore = await startSecondaryStore(harness.sandbox.configPath, SECONDARY_BUCKET, SECONDARY_PREFIX);
    primary = { s3: harness.s3, bucket: SANDBOX_BUCKET, prefix: harness.config.archive.prefix };
    secondary = secondaryStore.place;
  });

  afterEach(async () => {
    await Promise.all([harness.stop(), secondaryStore.stop()]);
  });

  /** One archived backup in both places, and the appliance's disk replaced (the restore must upload). */
  async function backupInBothPlaces(): Promise<{ backup: BackupOutput; secondaryKey: string; bytes: Buffer }> {
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });
    if (!outcome.succeeded) throw new Error(`the backup failed: ${outcome.error ?? ''} ${outcome.cause ?? ''}`);
    const backup = outcome.output as BackupOutput;
    const secondaryKey = await copyToSecondaryForTest(primary, secondary, backup.archive.objectKey);
    harness.sandbox.appliance.deleteAllBackups();
    return { backup, secondaryKey, bytes: await readObject(harness.s3, SANDBOX_BUCKET, backup.archive.objectKey) };
  }

  /** Same length, other bytes: only the SHA-256 tells. */
  async function corrupt(place: PlaceAt, key: string, bytes: Buffer): Promise<void> {
    const other = Buffer.from(bytes);
    other[other.length - 1] = (other[other.length - 1] ?? 0) ^ 0xff;
    await place.s3.send(new PutObjectCommand({ Bucket: place.bucket, Key: key, Body: other }));
  }

  function uploadRequests(): number {
    return harness.sandbox.appliance.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backups/upload')).length;
  }

  function summaryOf(output: RestoreOutput): string[] {
    return applianceKind.restore.summarize(findTargetOfKind(harness.config, SANDBOX_APPLIANCE_TARGET, 'appliance'), output);
  }

  test('restores from the secondary, saying so, when the primary copy was deleted', async () => {
    // Prepare
    const { backup, secondaryKey, bytes } = await backupInBothPlaces();
    const primaryKey = backup.archive.objectKey;
    for (const key of [manifestKeyFor(primaryKey), primaryKey]) await harness.s3.send(new DeleteObjectCommand({ Bucket: SANDBOX_BUCKET, Key: key }));

    // Act
    const outcome = await harness.run('appliance', 'restore', restoreLatest);

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const output = outcome.output as RestoreOutput;
    expect(output.plan).toMatchObject({ mode: 'upload', archive: { objectKey: secondaryKey, place: 'secondary' }, placeReason: `the primary copy ${primaryKey} is missing` });
    expect(harness.sandbox.appliance.restores.map((restore) => restore.sha256)).toEqual([sha256(bytes)]);
    expect(summaryOf(output)).toContain(`  restored from the secondary copy (s3://${SECONDARY_BUCKET}/${secondaryKey}): the primary copy ${primaryKey} is missing`);
  });

  test('restores from the secondary, saying so, when the primary copy fails verification, with one upload', async () => {
    // Prepare
    const { backup, secondaryKey, bytes } = await backupInBothPlaces();
    const primaryKey = backup.archive.objectKey;
    await corrupt(primary, primaryKey, bytes);

    // Act
    const outcome = await harness.run('appliance', 'restore', restoreLatest);

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const output = outcome.output as RestoreOutput;
    expect(output.plan).toMatchObject({ archive: { objectKey: primaryKey, place: 'primary' }, archiveFallback: { objectKey: secondaryKey, place: 'secondary' }, placeReason: null });
    expect(output.archiveSource).toMatchObject({ place: 'secondary', url: `s3://${SECONDARY_BUCKET}/${secondaryKey}`, reason: expect.stringMatching(`^the primary copy ${primaryKey} fails verification`) });
    expect(uploadRequests()).toBe(1);
    expect(harness.sandbox.appliance.restores.map((restore) => restore.sha256)).toEqual([sha256(bytes)]);
    expect(summaryOf(output).join('\n')).toContain(`restored from the secondary copy (s3://${SECONDARY_BUCKET}/${secondaryKey}): the primary copy ${primaryKey} fails verification`);
  });

  test('fails as ArchivedCopyUnusable naming both places when neither copy verifies, and uploads nothing', async () => {
    // Prepare
    const { backup, secondaryKey, bytes } = await backupInBothPlaces();
    await corrupt(primary, backup.archive.objectKey, bytes);
    await corrupt(secondary, secondaryKey, bytes);

    // Act
    const outcome = await harness.run('appliance', 'restore', restoreLatest);

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'ArchivedCopyUnusable' });
    expect(outcome.cause).toContain(`the primary copy ${backup.archive.objectKey} fails verification`);
    expect(outcome.cause).toContain(`the secondary copy ${secondaryKey} fails verification`);
    expect(outcome.cause).toContain(`s3://${SECONDARY_BUCKET}/${SECONDARY_PREFIX}`);
    expect(uploadRequests()).toBe(0);
    expect(harness.sandbox.appliance.backups()).toEqual([]);
    expect(harness.sandbox.appliance.restores).toEqual([]);
  });

  test('fails as ArchivedCopyUnusable naming the secondary too when only the primary holds the backup and it fails verification', async () => {
    // Prepare: the secondary has not caught up with this backup.
    const { backup, secondaryKey, bytes } = await backupInBothPlaces();
    for (const key of [manifestKeyFor(secondaryKey), secondaryKey]) await secondary.s3.send(new DeleteObjectCommand({ Bucket: SECONDARY_BUCKET, Key: key }));
    await corrupt(primary, backup.archive.objectKey, bytes);

    // Act
    const outcome = await harness.run('appliance', 'restore', restoreLatest);

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'ArchivedCopyUnusable' });
    expect(outcome.cause).toContain(`the primary copy ${backup.archive.objectKey} fails verification`);
    expect(outcome.cause).toContain(`the secondary s3://${SECONDARY_BUCKET}/${SECONDARY_PREFIX} listed no usable copy of it`);
    expect(uploadRequests()).toBe(0);
    expect(harness.sandbox.appliance.restores).toEqual([]);
  });

  test('a healthy primary copy is restored from the primary, and the summary names no other place', async () => {
    // Prepare
    const { backup, bytes } = await backupInBothPlaces();

    // Act
    const outcome = await harness.run('appliance', 'restore', restoreLatest);

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const output = outcome.output as RestoreOutput;
    expect(output.archiveSource).toMatchObject({ place: 'primary', objectKey: backup.archive.objectKey, reason: null });
    expect(harness.sandbox.appliance.restores.map((restore) => restore.sha256)).toEqual([sha256(bytes)]);
    expect(summaryOf(output).join('\n')).not.toContain('restored from the');
  });
});
