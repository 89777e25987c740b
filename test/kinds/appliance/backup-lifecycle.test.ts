import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { manifestSchema } from '../../../functions/archive/manifest';
import { listKeys, openMultipartUploads, readObject, SANDBOX_BUCKET, sha256, startHarness, type Harness } from '../../support/harness';
import { SANDBOX_APPLIANCE_TARGET } from '../../../bin/sandbox/appliance/sandbox-round';

interface BackupOutput {
  backup: { backupId: string; status: string; notes: string[] };
  archive: { objectKey: string; manifestKey: string; sizeBytes: number; sha256: string };
  prune: { delete: string[]; keptWithoutArchiveCopy: string[]; notMadeByOffsite: string[] };
}

/** backup_time has one-second resolution: make sure the next backup is not made in the same second. */
async function intoNextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1001 - (Date.now() % 1000)));
}

describe('appliance backup lifecycle (state-machines/appliance-backup.asl.json)', () => {
  let harness: Harness;

  afterEach(async () => {
    await harness.stop();
  });

  test('archives the backup it created, byte for byte, with a manifest naming the appliance', async () => {
    // Prepare
    harness = await startHarness();
    const simulator = harness.sandbox.appliance;

    // Act
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const output = outcome.output as BackupOutput;
    const made = simulator.backups();
    expect(made).toHaveLength(1);
    const backup = made[0];
    expect(output.backup.backupId).toBe(backup?.id);
    const served = simulator.backupBytes(output.backup.backupId);
    const stored = await readObject(harness.s3, SANDBOX_BUCKET, output.archive.objectKey);
    expect(stored.equals(served)).toBe(true);
    const manifest = manifestSchema.parse(JSON.parse((await readObject(harness.s3, SANDBOX_BUCKET, output.archive.manifestKey)).toString('utf8')));
    expect(manifest).toMatchObject({
      target: SANDBOX_APPLIANCE_TARGET,
      kind: 'appliance',
      sourceBackupId: backup?.id,
      objectKey: output.archive.objectKey,
      sizeBytes: backup?.size,
      sha256: sha256(served),
    });
    expect(manifest.source).toMatchObject({
      hostname: simulator.info.hostname,
      model: simulator.info.model,
      serial: simulator.info.serial,
      sw_version: simulator.info.sw_version,
      backup_time: new Date((backup?.backup_time ?? 0) * 1000).toISOString(),
    });
    expect(await openMultipartUploads(harness.s3, SANDBOX_BUCKET)).toEqual([]);
    const visited = outcome.path.filter((state) => !['WaitForBackup', 'CheckBackup', 'IsBackupComplete'].includes(state));
    expect(visited).toEqual(['RequestBackup', 'CopyToArchive', 'CopyToSecondary', 'PlanPrune', 'DeleteOldBackups', 'PruneArchive', 'IsArchivePruneComplete', 'BackupArchived']);
    expect(outcome.path.slice(0, 3)).toEqual(['RequestBackup', 'WaitForBackup', 'CheckBackup']);
    expect(outcome.path.indexOf('CopyToArchive')).toBe(outcome.path.lastIndexOf('CheckBackup') + 2);
  });

  test('prunes only offsite-made backups beyond applianceKeep that have an archive copy', async () => {
    // Prepare: one scheduler backup offsite did not make; room for it and two of ours.
    harness = await startHarness({ appliance: { seedBackups: 1, storageLimit: 3 }, applianceTarget: { applianceKeep: 1 } });
    const simulator = harness.sandbox.appliance;
    const seeded = simulator.backups().map((backup) => backup.id);
    expect(seeded).toHaveLength(1);
    const first = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });
    expect(first.succeeded).toBe(true);
    const firstId = (first.output as BackupOutput).backup.backupId;
    await intoNextSecond();

    // Act: the second backup makes the first one surplus.
    const second = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expect(second.succeeded).toBe(true);
    const secondOutput = second.output as BackupOutput;
    expect(secondOutput.prune.delete).toEqual([firstId]);
    expect(simulator.backups().map((backup) => backup.id).sort()).toEqual([...seeded, secondOutput.backup.backupId].sort());

    // Prepare: the second backup's archive copy loses its manifest.
    await harness.s3.send(new DeleteObjectCommand({ Bucket: SANDBOX_BUCKET, Key: secondOutput.archive.manifestKey }));
    await intoNextSecond();

    // Act
    const third = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess: the second backup is beyond applianceKeep now, but has no verified copy: kept.
    expect(third.succeeded).toBe(true);
    const thirdOutput = third.output as BackupOutput;
    expect(thirdOutput.prune).toMatchObject({ delete: [], keptWithoutArchiveCopy: [secondOutput.backup.backupId], notMadeByOffsite: seeded });
    expect(simulator.backups().map((backup) => backup.id).sort()).toEqual([...seeded, secondOutput.backup.backupId, thirdOutput.backup.backupId].sort());
    expect(simulator.requests.filter((request) => request.method === 'DELETE').map((request) => request.path)).toEqual([
      expect.stringMatching(new RegExp(`/backups/items/${firstId}$`)),
    ]);
  });

  test('a backup the appliance reports failed ends in ApplianceBackupFailed with its status_message and archives nothing', async () => {
    // Prepare
    harness = await startHarness();
    harness.sandbox.appliance.failNextBackup('disk I/O error');

    // Act
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'ApplianceBackupFailed' });
    expect(outcome.cause).toContain('disk I/O error');
    expect(harness.sandbox.appliance.backups()[0]).toMatchObject({ status: 'failed', status_message: 'disk I/O error' });
    expect(outcome.path).not.toContain('CopyToArchive');
    expect(await listKeys(harness.s3, SANDBOX_BUCKET)).toEqual([]);
  });

  test('a full appliance fails as ApplianceStorageFull, naming the fix, and archives nothing', async () => {
    // Prepare: two scheduler backups fill the two slots.
    harness = await startHarness({ appliance: { seedBackups: 2, storageLimit: 2 } });

    // Act
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'ApplianceStorageFull' });
    expect(outcome.cause).toMatch(/storage is full/);
    expect(outcome.cause).toMatch(/delete a backup/i);
    expect(outcome.cause).toContain('applianceKeep');
    for (const backup of harness.sandbox.appliance.backups()) expect(outcome.cause).toContain(backup.id);
    expect(harness.sandbox.appliance.backups()).toHaveLength(2);
    expect(await listKeys(harness.s3, SANDBOX_BUCKET)).toEqual([]);
  });

  test('with one backup kept by the operator and the defaults, every scheduled backup succeeds: the full disk makes room from offsite\'s archived one', async () => {
    // Prepare: two slots, one held by the appliance scheduler; applianceKeep is 1 by default.
    harness = await startHarness({ appliance: { seedBackups: 1, storageLimit: 2 } });
    const simulator = harness.sandbox.appliance;
    const seeded = simulator.backups().map((backup) => backup.id);
    const runs: BackupOutput[] = [];

    // Act: three nights in a row.
    for (let night = 0; night < 3; night += 1) {
      if (night > 0) await intoNextSecond();
      const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });
      expect({ night, succeeded: outcome.succeeded, error: outcome.error }).toEqual({ night, succeeded: true, error: undefined });
      runs.push(outcome.output as BackupOutput);
    }

    // Assess
    const [first, second, third] = runs;
    expect(first?.backup.notes).toEqual([]);
    expect(second?.backup.notes).toEqual([expect.stringContaining(`deleted backup ${first?.backup.backupId ?? '?'}`)]);
    expect(second?.backup.notes[0]).toContain(`archived and verified as ${first?.archive.objectKey ?? '?'}`);
    expect(third?.backup.notes).toEqual([expect.stringContaining(`deleted backup ${second?.backup.backupId ?? '?'}`)]);
    expect(simulator.backups().map((backup) => backup.id).sort()).toEqual([...seeded, third?.backup.backupId].sort());
  });

  test('a 500 on the create request after the appliance made the backup: the run adopts it and archives it', async () => {
    // Prepare
    harness = await startHarness();
    const simulator = harness.sandbox.appliance;
    simulator.loseNextCreateAnswer(500);

    // Act
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const output = outcome.output as BackupOutput;
    expect(simulator.backups().map((backup) => backup.id)).toEqual([output.backup.backupId]);
    expect(output.backup.notes).toEqual([expect.stringContaining('which this run adopted')]);
    const stored = await readObject(harness.s3, SANDBOX_BUCKET, output.archive.objectKey);
    expect(stored.equals(simulator.backupBytes(output.backup.backupId))).toBe(true);
  });

  test('pruning that fails after a verified copy ends in PruneFailed, whose cause names the archived copy and the retry next run', async () => {
    // Prepare: room for three; the second run makes the first surplus, and every DELETE fails.
    harness = await startHarness({ appliance: { storageLimit: 3 } });
    const simulator = harness.sandbox.appliance;
    expect((await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET })).succeeded).toBe(true);
    await intoNextSecond();
    simulator.failNextDeletes(100);

    // Act
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'PruneFailed' });
    const held = outcome.failedWith as BackupOutput;
    expect(outcome.cause).toContain(`The backup is archived and verified as ${held.archive.objectKey}`);
    expect(outcome.cause).toContain('is tried again after the next backup');
    expect(outcome.cause).toContain('Could not delete the backup: storage busy');
    expect(await listKeys(harness.s3, SANDBOX_BUCKET)).toEqual(expect.arrayContaining([held.archive.objectKey, held.archive.manifestKey]));
    expect(simulator.backups()).toHaveLength(2);
  });

  test('the execution output carries no password or token', async () => {
    // Prepare
    harness = await startHarness();

    // Act
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expect(outcome.succeeded).toBe(true);
    expect(harness.sandbox.appliance.tokensIssued).toBeGreaterThan(0);
    const serialized = JSON.stringify(outcome);
    expect(serialized).not.toContain(harness.sandbox.appliance.password);
    expect(serialized).not.toMatch(/access_token|Bearer|password/i);
  });
});
