import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ArchiveListing, ArchivedCopy } from '../../../functions/archive/listing';
import type { ApplianceBackup, ApplianceClient } from '../../../functions/kinds/appliance/client';
import { checkUploadedBackup, uploadFromArchive } from '../../../functions/kinds/appliance/upload';
import { CopyVerificationFailed, TransientApiError } from '../../../functions/shared/errors';
import { ApplianceBackupFailed, ApplianceStorageFull } from '../../../functions/kinds/appliance/errors';
import { startPoll } from '../../../functions/shared/poll';
import { startApplianceSimulator, type ApplianceSimulator, type ApplianceSimulatorOptions } from '../../../bin/sandbox/appliance';
import { startLocalS3, type LocalS3 } from '../../../bin/sandbox/local-s3';
import { MADE_BY_OFFSITE, NO_COPIES, archiveOf, archivedCopy, backup, handWrittenAppliance, simulatorClient, sleep, target } from '../../support/appliance';
import { localS3Client } from '../../support/harness';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('appliance upload against a hand-written appliance', () => {
  const handWritten = handWrittenAppliance();
  const client = handWritten.client;

  describe('checkUploadedBackup', () => {
    function appliance(uploaded: Partial<ApplianceBackup>): string[] {
      const calls: string[] = [];
      handWritten.answer = (method, path) => {
        calls.push(`${method} ${path.split('/').slice(-3).join('/')}`);
        return method === 'DELETE' ? { status: 204 } : { status: 200, body: backup('u-1', 1_774_000_000, { description: 'uploaded', ...uploaded }) };
      };
      return calls;
    }

    test('an uploaded backup still being processed is returned as it is, and nothing is deleted', async () => {
      // Prepare
      const calls = appliance({ status: 'uploading', size: 0 });

      // Act
      const progress = await checkUploadedBackup(client(), target, 'u-1', startPoll(target.poll), 1000);

      // Assess
      expect(progress).toMatchObject({ backupId: 'u-1', status: 'uploading', sizeBytes: 0 });
      expect(calls).toEqual(['GET backups/items/u-1']);
    });

    test('an uploaded backup completed with another size than was sent is deleted: CopyVerificationFailed saying so', async () => {
      // Prepare
      const calls = appliance({ status: 'completed', size: 999 });

      // Act
      const failure = checkUploadedBackup(client(), target, 'u-1', startPoll(target.poll), 1000);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(CopyVerificationFailed);
      await expect(failure).rejects.toThrow('holds uploaded backup u-1 with size 999; 1000 bytes were sent; the uploaded backup was deleted.');
      expect(calls).toContain('DELETE backups/items/u-1');
    });

    test('an uploaded backup the appliance reports failed is deleted: ApplianceBackupFailed saying so', async () => {
      // Prepare
      const calls = appliance({ status: 'failed', size: 0, status_message: 'Invalid backup file' });

      // Act
      const failure = checkUploadedBackup(client(), target, 'u-1', startPoll(target.poll), 1000);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceBackupFailed);
      await expect(failure).rejects.toThrow('reports backup u-1 failed: Invalid backup file; the uploaded backup was deleted.');
      expect(calls).toContain('DELETE backups/items/u-1');
    });
  });
});

describe('uploadFromArchive', () => {
  const BUCKET = 'appliance-upload-test';
  let directory: string;
  let s3Server: LocalS3;
  let s3: S3Client;
  let simulator: ApplianceSimulator;
  let client: ApplianceClient;
  let file: Buffer;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offsite-appliance-upload-'));
    s3Server = await startLocalS3({ directory, buckets: [BUCKET] });
    s3 = localS3Client(s3Server);
  });

  afterAll(async () => {
    await s3Server.stop();
    await rm(directory, { recursive: true, force: true });
  });

  beforeEach(async () => {
    // A backup file the appliance made, archived, and then gone from the appliance.
    simulator = await startApplianceSimulator({ seedBackups: 1, backupSizeBytes: 300_000 });
    client = simulatorClient(simulator);
    file = simulator.backupBytes(simulator.backups()[0]?.id ?? '');
    simulator.deleteAllBackups();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ar11-lab/backup.tgz', Body: file }));
  });

  afterEach(async () => {
    await simulator.stop();
  });

  const upload = (archive: { sizeBytes?: number; sha256?: string } = {}, listing: ArchiveListing = NO_COPIES) =>
    uploadFromArchive({
      client,
      s3,
      bucket: BUCKET,
      archive: { objectKey: 'ar11-lab/backup.tgz', sizeBytes: archive.sizeBytes ?? file.length, sha256: archive.sha256 ?? sha256(file) },
      signal: AbortSignal.timeout(10_000),
      target,
      archiveListing: async () => listing,
    });

  /** Another appliance for this test (the archived file stays the same). */
  async function useSimulator(options: ApplianceSimulatorOptions): Promise<void> {
    await simulator.stop();
    simulator = await startApplianceSimulator(options);
    client = simulatorClient(simulator);
  }

  test('streams the archived copy to the appliance, which then holds exactly those bytes', async () => {
    // Act
    const result = await upload();

    // Assess
    expect(result).toMatchObject({ uploadedBytes: file.length, sha256: sha256(file), status: 'completed', sizeBytes: file.length });
    expect(simulator.backups().map((held) => held.id)).toEqual([result.backupId]);
    expect(sha256(simulator.backupBytes(result.backupId))).toBe(sha256(file));
  });

  test('after an expired token, opens the archived copy once more and succeeds', async () => {
    // Prepare
    await client.listBackups();
    simulator.expireTokens();

    // Act
    const result = await upload();

    // Assess
    expect(simulator.tokensIssued).toBe(2);
    expect(sha256(simulator.backupBytes(result.backupId))).toBe(sha256(file));
  });

  test('refuses an archived object whose length differs from the manifest, uploading nothing', async () => {
    // Act
    const failure = upload({ sizeBytes: file.length + 1 });

    // Assess
    await expect(failure).rejects.toBeInstanceOf(CopyVerificationFailed);
    await expect(failure).rejects.toThrow(`Archive object ar11-lab/backup.tgz is ${file.length} bytes; its manifest records ${file.length + 1}. Not uploaded.`);
    expect(simulator.backups()).toEqual([]);
    expect(simulator.requests.filter((request) => request.path.endsWith('/upload'))).toEqual([]);
  });

  test('refuses an archived object whose sha256 differs from the manifest, leaving no backup on the appliance', async () => {
    // Act
    const failure = upload({ sha256: 'f'.repeat(64) });

    // Assess
    await expect(failure).rejects.toBeInstanceOf(CopyVerificationFailed);
    await expect(failure).rejects.toThrow(`sha256 of archived copy ar11-lab/backup.tgz is ${sha256(file)}; its manifest records ${'f'.repeat(64)}.`);
    expect(simulator.backups()).toEqual([]);
    // The last chunk was held back until the check: the appliance never saw a complete body.
    expect(simulator.requests.filter((request) => request.path.endsWith('/upload') && request.status < 300)).toEqual([]);
  });

  test('an appliance still processing the upload answers "uploading" with size 0: the backup is kept, and checked until completed with the size sent', async () => {
    // Prepare
    await useSimulator({ uploadProcessingMs: 200 });

    // Act
    const result = await upload();
    const meanwhile = await checkUploadedBackup(client, target, result.backupId, startPoll(target.poll), file.length);
    await sleep(250);
    const completed = await checkUploadedBackup(client, target, result.backupId, meanwhile.poll, file.length);

    // Assess
    expect(result).toMatchObject({ status: 'uploading', sizeBytes: 0, uploadedBytes: file.length, sha256: sha256(file) });
    expect(meanwhile).toMatchObject({ status: 'uploading' });
    expect(completed).toMatchObject({ backupId: result.backupId, status: 'completed', sizeBytes: file.length });
    expect(simulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
  });

  test('an upload the full appliance refuses is ApplianceStorageFull naming who put each backup it holds there, and the fix', async () => {
    // Prepare: a scheduler backup, a copy offsite uploaded earlier and a backup offsite made: all the appliance holds.
    await useSimulator({ seedBackups: 1, storageLimit: 3, backupSizeBytes: 20_000 });
    const [scheduled] = simulator.backups();
    const earlier = await upload();
    const uploaded = simulator.backups().find((held) => held.id === earlier.backupId);
    const made = await client.createBackup(MADE_BY_OFFSITE);
    const copy = archivedCopy('b-archived', { sizeBytes: file.length });
    const earlierCopy: ArchivedCopy = {
      ...copy,
      manifest: {
        ...copy.manifest,
        source: { sw_version: uploaded?.sw_version ?? null, serial: uploaded?.serial ?? null, hostname: uploaded?.hostname ?? null, backup_time: new Date((uploaded?.backup_time ?? 0) * 1000).toISOString() },
      },
    };

    // Act
    const failure = upload({}, archiveOf(earlierCopy));

    // Assess
    await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
    await expect(failure).rejects.toThrow('Appliance "ar11-lab" refused the upload of ar11-lab/backup.tgz; its backup storage is full (');
    await expect(failure).rejects.toThrow(`${made.id ?? 'missing'} (made by offsite`);
    await expect(failure).rejects.toThrow(`${scheduled?.id ?? 'missing'} (not made by offsite`);
    await expect(failure).rejects.toThrow(`${earlier.backupId} (uploaded by offsite`);
    await expect(failure).rejects.toThrow('Fix: delete a backup on the appliance that you no longer need');
    await expect(failure).rejects.toThrow('or lower applianceKeep (now 1)');
    expect(simulator.backups()).toHaveLength(3);
  });

  test('an upload cut off by a connection reset deletes the failed backup it left, and nothing that was there before', async () => {
    // Prepare: a scheduler backup and a failed backup offsite made are there before the upload.
    await useSimulator({ seedBackups: 1, storageLimit: 4, backupDurationMs: 50, backupSizeBytes: 20_000 });
    simulator.failNextBackup('Backup failed: disk error');
    await client.createBackup(MADE_BY_OFFSITE);
    await sleep(100);
    const before = simulator.backups();
    simulator.resetNextUpload(64 * 1024);

    // Act
    const failure = upload();

    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientApiError);
    await expect(failure).rejects.toThrow(/deleted backup \S+ \(failed\), which this upload left/);
    expect(simulator.backups()).toEqual(before);
    expect(simulator.requests.filter((request) => request.method === 'DELETE')).toHaveLength(1);
  });
});
