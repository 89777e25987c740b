import type { JsonValue } from '../../../bin/local/local-runner';
import { readObject, SANDBOX_BUCKET, sha256, startHarness, type Harness } from '../../support/harness';
import { SANDBOX_APPLIANCE_TARGET } from '../../../bin/sandbox/appliance/sandbox-round';

interface BackupOutput {
  backup: { backupId: string };
  archive: { objectKey: string; manifestKey: string; sizeBytes: number; sha256: string };
}

interface RestoreOutput {
  plan: { mode: 'in-place' | 'upload'; backup: { backupId: string }; versionCheck: string };
  uploaded?: { backupId: string };
  restoreBackup: { backupId: string };
  restore: { phase: string; status: string; unreachableChecks: number };
}

/** The execution input; an override of undefined leaves that field out. */
function restoreInput(overrides: Record<string, JsonValue | undefined> = {}): Record<string, JsonValue> {
  const input: Record<string, JsonValue | undefined> = { target: SANDBOX_APPLIANCE_TARGET, backupId: 'latest', confirm: SANDBOX_APPLIANCE_TARGET, ...overrides };
  return Object.fromEntries(Object.entries(input).filter((entry): entry is [string, JsonValue] => entry[1] !== undefined));
}

/** backup_time has one-second resolution: make sure the next backup is not made in the same second. */
async function intoNextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1001 - (Date.now() % 1000)));
}

describe('appliance restore lifecycle (state-machines/appliance-restore.asl.json)', () => {
  let harness: Harness;

  afterEach(async () => {
    await harness.stop();
  });

  async function backUp(): Promise<BackupOutput> {
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });
    if (!outcome.succeeded) throw new Error(`the backup failed: ${outcome.error ?? ''} ${outcome.cause ?? ''}`);
    return outcome.output as BackupOutput;
  }

  /** The simulator requests made from now on. */
  function requestsFromNow(): () => ReadonlyArray<{ method: string; path: string }> {
    const before = harness.sandbox.appliance.requests.length;
    return () => harness.sandbox.appliance.requests.slice(before);
  }

  describe('choosing what to restore', () => {
    beforeEach(async () => {
      harness = await startHarness();
    });

    test('restores a backup the appliance still holds in place', async () => {
      // Prepare
      const backup = await backUp();

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }));

      // Assess
      expect(outcome).toMatchObject({ succeeded: true });
      expect(outcome.path).toContain('RestoreInPlace');
      expect(outcome.path).not.toContain('UploadBackup');
      expect(harness.sandbox.appliance.restores.map((restore) => restore.backupId)).toEqual([backup.backup.backupId]);
      expect((outcome.output as RestoreOutput).restore).toMatchObject({ phase: 'completed', status: 'completed' });
    });

    test('restores "latest" onto replaced hardware by uploading the newest archived copy', async () => {
      // Prepare: two archived backups, then the appliance's disk is replaced.
      const older = await backUp();
      await intoNextSecond();
      const newer = await backUp();
      harness.sandbox.appliance.deleteAllBackups();
      const archived = await readObject(harness.s3, SANDBOX_BUCKET, newer.archive.objectKey);

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput());

      // Assess
      expect(outcome).toMatchObject({ succeeded: true });
      expect(outcome.path).toContain('UploadBackup');
      expect(outcome.path).not.toContain('RestoreInPlace');
      const output = outcome.output as RestoreOutput;
      const held = harness.sandbox.appliance.backups();
      expect(held).toHaveLength(1);
      expect(held[0]).toMatchObject({ uploaded: true, id: output.uploaded?.backupId });
      expect(harness.sandbox.appliance.backupBytes(held[0]?.id ?? '').equals(archived)).toBe(true);
      const restores = harness.sandbox.appliance.restores;
      expect(restores).toHaveLength(1);
      expect(restores[0]).toMatchObject({ backupId: held[0]?.id, sha256: sha256(archived) });
      expect(output.plan.backup.backupId).toBe(newer.backup.backupId);
      expect(sha256(archived)).not.toBe(older.archive.sha256);
    });

    test('a second restore of the same archived copy restores the earlier upload in place instead of uploading again', async () => {
      // Prepare: replaced hardware, restored once by upload.
      await backUp();
      harness.sandbox.appliance.deleteAllBackups();
      const first = await harness.run('appliance', 'restore', restoreInput());
      expect(first).toMatchObject({ succeeded: true });
      const uploaded = (first.output as RestoreOutput).uploaded?.backupId;

      // Act
      const second = await harness.run('appliance', 'restore', restoreInput());

      // Assess
      expect(second).toMatchObject({ succeeded: true });
      expect(second.path).toContain('RestoreInPlace');
      expect(second.path).not.toContain('UploadBackup');
      expect(harness.sandbox.appliance.backups().map((backup) => backup.id)).toEqual([uploaded]);
      expect(harness.sandbox.appliance.restores.map((restore) => restore.backupId)).toEqual([uploaded, uploaded]);
    });

    test('after a restore by upload, the next backups prune the uploaded copy instead of filling the appliance', async () => {
      // Prepare: replaced hardware (two backup slots), restored by upload.
      await backUp();
      harness.sandbox.appliance.deleteAllBackups();
      const restored = await harness.run('appliance', 'restore', restoreInput());
      const uploaded = (restored.output as RestoreOutput).uploaded?.backupId;

      // Act
      await intoNextSecond();
      const first = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });
      await intoNextSecond();
      const second = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

      // Assess
      expect([restored.succeeded, first.succeeded, second.succeeded]).toEqual([true, true, true]);
      const held = harness.sandbox.appliance.backups().map((backup) => backup.id);
      expect(held).toHaveLength(1);
      expect(held).not.toContain(uploaded);
    });

    test('restores the archived copy named by archiveKey, not the latest one', async () => {
      // Prepare: two backups; with applianceKeep 1 the first is pruned from the appliance.
      const older = await backUp();
      await intoNextSecond();
      const newer = await backUp();
      expect(harness.sandbox.appliance.backups().map((backup) => backup.id)).toEqual([newer.backup.backupId]);
      const archived = await readObject(harness.s3, SANDBOX_BUCKET, older.archive.objectKey);

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: undefined, archiveKey: older.archive.objectKey }));

      // Assess
      expect(outcome).toMatchObject({ succeeded: true });
      const output = outcome.output as RestoreOutput;
      expect(output.plan).toMatchObject({ mode: 'upload', backup: { backupId: older.backup.backupId } });
      expect(harness.sandbox.appliance.restores.map((restore) => restore.sha256)).toEqual([sha256(archived)]);
      expect(sha256(archived)).not.toBe(newer.archive.sha256);
    });

    test('an unknown backup id fails as BackupNotFound without starting a restore', async () => {
      // Prepare
      await backUp();

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: '0b6c3a9e-0000-4000-8000-000000000000' }));

      // Assess
      expect(outcome).toMatchObject({ succeeded: false, error: 'BackupNotFound' });
      expect(outcome.cause).toContain('0b6c3a9e-0000-4000-8000-000000000000');
      expect(harness.sandbox.appliance.restores).toEqual([]);
    });

    test('both backupId and latest fails as InvalidInput without any call to the appliance', async () => {
      // Prepare
      const backup = await backUp();
      const requests = requestsFromNow();

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId, latest: true }));

      // Assess
      expect(outcome).toMatchObject({ succeeded: false, error: 'InvalidInput' });
      expect(requests()).toEqual([]);
      expect(harness.sandbox.appliance.restores).toEqual([]);
    });

    test.each([
      ['confirm is missing', { confirm: undefined }],
      ['confirm is another name', { confirm: 'appliance-other' }],
      ['confirm differs in case', { confirm: SANDBOX_APPLIANCE_TARGET.toUpperCase() }],
    ])('fails as RestoreNotConfirmed without any call to the appliance when %s', async (_case, overrides) => {
      // Prepare
      await backUp();
      const requests = requestsFromNow();

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput(overrides));

      // Assess
      expect(outcome).toMatchObject({ succeeded: false, error: 'RestoreNotConfirmed' });
      expect(requests()).toEqual([]);
      expect(harness.sandbox.appliance.restores).toEqual([]);
    });
  });

  describe('software versions', () => {
    beforeEach(async () => {
      harness = await startHarness();
    });

    test('a backup from other software fails as SoftwareVersionMismatch, showing both versions, and starts no restore', async () => {
      // Prepare
      const backupVersion = harness.sandbox.appliance.info.sw_version;
      const backup = await backUp();
      harness.sandbox.appliance.setSwVersion('12.0.0');

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }));

      // Assess
      expect(backupVersion).not.toBe('12.0.0');
      expect(outcome).toMatchObject({ succeeded: false, error: 'SoftwareVersionMismatch' });
      expect(outcome.cause).toContain(backupVersion);
      expect(outcome.cause).toContain('12.0.0');
      expect(outcome.cause).toContain('allowVersionMismatch');
      expect(harness.sandbox.appliance.restores).toEqual([]);
      expect(harness.sandbox.appliance.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/restore'))).toEqual([]);
    });

    test('allowVersionMismatch restores it anyway', async () => {
      // Prepare
      const backup = await backUp();
      harness.sandbox.appliance.setSwVersion('12.0.0');

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId, allowVersionMismatch: true }));

      // Assess
      expect(outcome).toMatchObject({ succeeded: true });
      expect((outcome.output as RestoreOutput).plan.versionCheck).toBe('mismatch-allowed');
      expect(harness.sandbox.appliance.restores.map((restore) => restore.backupId)).toEqual([backup.backup.backupId]);
    });
  });

  describe('through the reboot', () => {
    test.each(['reset', '503'] as const)('succeeds when the appliance is unreachable (%s) for a while after the request', async (rebootBehaviour) => {
      // Prepare: a 500 ms reboot, well inside the 2 minute window, checked every 50 ms.
      harness = await startHarness({ appliance: { rebootWindowMs: 500, rebootBehaviour } });
      const backup = await backUp();

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }), { waitsMs: { WaitForRestore: 50 } });

      // Assess
      expect(outcome).toMatchObject({ succeeded: true });
      expect((outcome.output as RestoreOutput).restore.unreachableChecks).toBeGreaterThan(0);
      expect(harness.sandbox.appliance.restores).toHaveLength(1);
    });

    test('an appliance unreachable for longer than restore.rebootWindowMinutes fails as RebootWindowExceeded', async () => {
      // Prepare: a 10 s reboot; each 50 ms wait counts as up to 4 s, so a 1 minute window is spent in ~17 checks.
      harness = await startHarness({ appliance: { rebootWindowMs: 10_000 }, applianceTarget: { restore: { rebootWindowMinutes: 1 } } });
      const backup = await backUp();
      const started = Date.now();

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }), { waitsMs: { WaitForRestore: 50 } });

      // Assess
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(outcome).toMatchObject({ succeeded: false, error: 'RebootWindowExceeded' });
      expect(outcome.cause).toContain('restore.rebootWindowMinutes is 1');
      const checks = outcome.path.filter((state) => state === 'CheckRestore').length;
      expect(checks).toBeGreaterThan(10);
      expect(checks).toBeLessThanOrEqual(20);
    });
  });

  describe('the outcome the appliance reports', () => {
    test.each([
      ['completed_with_errors', 'Restore completed with errors: 2 items'],
      ['failed', 'Restore failed: the backup could not be applied'],
    ] as const)('%s fails as RestoreFailed with the status_message', async (status, message) => {
      // Prepare
      harness = await startHarness();
      const backup = await backUp();
      harness.sandbox.appliance.setRestoreOutcome(status, message);

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }));

      // Assess
      expect(outcome).toMatchObject({ succeeded: false, error: 'RestoreFailed' });
      expect(outcome.cause).toContain(status);
      expect(outcome.cause).toContain(message);
      expect(harness.sandbox.appliance.restores).toHaveLength(1);
    });

    test("the previous restore's 'completed', still shown after the reboot, is not taken for this one's", async () => {
      // Prepare: an hour-old completed restore, shown for 3 more reads after the reboot; this one ends with errors.
      harness = await startHarness({
        appliance: { previousRestore: { status: 'completed', last_restore_time: Math.floor(Date.now() / 1000) - 3600 } },
      });
      const backup = await backUp();
      harness.sandbox.appliance.setRestoreOutcome('completed_with_errors', 'Restore completed with errors: 2 items');
      harness.sandbox.appliance.setStaleRestoreStatusReads(3);

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }));

      // Assess
      expect(outcome).toMatchObject({ succeeded: false, error: 'RestoreFailed' });
      expect(outcome.cause).toContain('Restore completed with errors: 2 items');
      const statusReads = harness.sandbox.appliance.requests.filter((request) => request.path.endsWith('/restore_status') && request.status === 200);
      // One baseline read, the three stale ones, then this restore's outcome.
      expect(statusReads.length).toBeGreaterThanOrEqual(5);
    });
  });

  describe('two restores within one second (last_restore_time has whole seconds)', () => {
    test("the second restore's 'completed', reported after its reboot exactly as the first one's was, is taken for its own", async () => {
      // Prepare: both restores are reported at one pinned second, whatever the wall clock does;
      // a 2.5 s reboot is seen by the first check, 200 ms after the request, however loaded the machine
      // (and the checks during it, each counted at its computed backoff, stay inside rebootWindowMinutes).
      harness = await startHarness({ appliance: { rebootWindowMs: 2500 } });
      const backup = await backUp();
      harness.sandbox.appliance.pinRestoreTime(Math.floor(Date.now() / 1000));
      const first = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }), { waitsMs: { WaitForRestore: 200 } });

      // Act
      const second = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }), { waitsMs: { WaitForRestore: 200 } });

      // Assess
      expect(first).toMatchObject({ succeeded: true });
      expect(second).toMatchObject({ succeeded: true });
      expect((second.output as RestoreOutput).restore).toMatchObject({ phase: 'completed', status: 'completed' });
      expect((second.output as RestoreOutput).restore.unreachableChecks).toBeGreaterThan(0);
      const restores = harness.sandbox.appliance.restores;
      expect(restores).toHaveLength(2);
      expect(restores[1]?.startedAt).toBe(restores[0]?.startedAt);
    });

    test('a second restore that ends otherwise than the first in the same second is reported with its own outcome', async () => {
      // Prepare: as above, a reboot long enough for the first check to see it.
      harness = await startHarness({ appliance: { rebootWindowMs: 2500 } });
      const backup = await backUp();
      harness.sandbox.appliance.pinRestoreTime(Math.floor(Date.now() / 1000));
      const first = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }), { waitsMs: { WaitForRestore: 200 } });
      harness.sandbox.appliance.setRestoreOutcome('completed_with_errors', 'Restore completed with errors: 2 items');

      // Act
      const second = await harness.run('appliance', 'restore', restoreInput({ backupId: backup.backup.backupId }), { waitsMs: { WaitForRestore: 200 } });

      // Assess
      expect(first).toMatchObject({ succeeded: true });
      expect(second).toMatchObject({ succeeded: false, error: 'RestoreFailed' });
      expect(second.cause).toContain('Restore completed with errors: 2 items');
    });
  });

  describe('restoring by upload', () => {
    test('an appliance still processing the upload when it answers ("uploading", size 0) is polled until the backup is completed, then restored', async () => {
      // Prepare: replaced hardware whose appliance takes 400 ms to process an upload.
      harness = await startHarness({ appliance: { uploadProcessingMs: 400 } });
      const backup = await backUp();
      harness.sandbox.appliance.deleteAllBackups();

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput(), { waitsMs: { WaitForUploadedBackup: 100 } });

      // Assess
      expect(outcome).toMatchObject({ succeeded: true });
      expect(outcome.path).toContain('WaitForUploadedBackup');
      const output = outcome.output as RestoreOutput;
      expect(output.uploaded).toMatchObject({ status: 'completed', sizeBytes: backup.archive.sizeBytes });
      expect(harness.sandbox.appliance.backups().map((held) => held.id)).toEqual([output.uploaded?.backupId]);
      expect(harness.sandbox.appliance.restores.map((restore) => restore.backupId)).toEqual([output.uploaded?.backupId]);
    });

    test('an upload the full appliance refuses fails as ApplianceStorageFull, naming who made each backup it holds and the fix', async () => {
      // Prepare: A archived and pruned from the appliance, which then holds a scheduler backup and B, all it can.
      harness = await startHarness({ appliance: { seedBackups: 1 } });
      const [seed] = harness.sandbox.appliance.backups();
      const older = await backUp();
      await intoNextSecond();
      harness.sandbox.appliance.setStorageLimit(3);
      const newer = await backUp();
      harness.sandbox.appliance.setStorageLimit(2);
      expect(harness.sandbox.appliance.backups().map((held) => held.id).sort()).toEqual([seed?.id, newer.backup.backupId].sort());

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput({ backupId: undefined, archiveKey: older.archive.objectKey }));

      // Assess
      expect(outcome).toMatchObject({ succeeded: false, error: 'ApplianceStorageFull' });
      expect(outcome.cause).toContain(`refused the upload of ${older.archive.objectKey}`);
      expect(outcome.cause).toContain(`${newer.backup.backupId} (made by offsite, `);
      expect(outcome.cause).toContain(`${seed?.id ?? 'missing'} (not made by offsite, `);
      expect(outcome.cause).toContain('Fix: delete a backup on the appliance that you no longer need');
      expect(outcome.cause).toContain('or lower applianceKeep (now 1)');
      expect(harness.sandbox.appliance.restores).toEqual([]);
    });

    test('an upload cut off by a connection reset deletes the failed backup it left on the appliance, and says so', async () => {
      // Prepare: replaced hardware; the upload's connection is reset after 16 KiB.
      harness = await startHarness();
      await backUp();
      harness.sandbox.appliance.deleteAllBackups();
      harness.sandbox.appliance.resetNextUpload(16 * 1024);
      const requests = requestsFromNow();

      // Act
      const outcome = await harness.run('appliance', 'restore', restoreInput());

      // Assess
      expect(outcome).toMatchObject({ succeeded: false, error: 'TransientApiError' });
      const deletes = requests().filter((request) => request.method === 'DELETE');
      expect(deletes).toHaveLength(1);
      expect(outcome.cause).toContain(`deleted backup ${deletes[0]?.path.split('/').pop() ?? 'missing'} (failed)`);
      expect(harness.sandbox.appliance.backups()).toEqual([]);
      expect(harness.sandbox.appliance.restores).toEqual([]);
    });
  });
});
