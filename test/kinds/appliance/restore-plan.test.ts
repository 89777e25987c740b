import type { ApplianceClient } from '../../../functions/kinds/appliance/client';
import { resolveRestore, restoreSelection } from '../../../functions/kinds/appliance/restore-plan';
import { BackupNotFound, InvalidInput } from '../../../functions/shared/errors';
import { SoftwareVersionMismatch } from '../../../functions/kinds/appliance/errors';
import type { ApplianceSimulator, ApplianceSimulatorOptions } from '../../../bin/sandbox/appliance';
import { NO_COPIES, archiveOf, archivedCopy, startQuickSimulator, target } from '../../support/appliance';

describe('appliance restore plan against the appliance simulator', () => {
  let simulator: ApplianceSimulator;
  let client: ApplianceClient;

  async function start(options: ApplianceSimulatorOptions = {}, timeoutMs?: number): Promise<void> {
    ({ simulator, client } = await startQuickSimulator(options, timeoutMs));
  }

  afterEach(async () => {
    await simulator.stop();
  });

  describe('resolveRestore', () => {
    test('restores in place when the appliance still holds the backup', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const held = simulator.backups()[0];

      // Act
      const plan = await resolveRestore(client, target, archiveOf(archivedCopy(held?.id ?? '', { sizeBytes: held?.size ?? 0 })), { backupId: held?.id ?? '' }, false);

      // Assess
      expect(plan).toMatchObject({
        mode: 'in-place',
        backup: { backupId: held?.id, swVersion: '11.12.0', sizeBytes: held?.size },
        applianceVersion: '11.12.0',
        versionCheck: 'match',
      });
      expect(plan.archive).not.toBeNull();
    });

    test('uploads from the archive when the appliance no longer holds the backup', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const copy = archivedCopy('gone-backup', { sizeBytes: 4321 });

      // Act
      const plan = await resolveRestore(client, target, archiveOf(copy), { archiveKey: copy.manifest.objectKey }, false);

      // Assess
      expect(plan).toMatchObject({
        mode: 'upload',
        backup: { backupId: 'gone-backup', swVersion: '11.12.0', sizeBytes: 4321, backupTime: copy.manifest.createdAt },
        archive: { objectKey: copy.manifest.objectKey, sizeBytes: 4321, sha256: copy.manifest.sha256 },
        versionCheck: 'match',
      });
    });

    test('uploads when the appliance holds the id with another size than the archived copy', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const held = simulator.backups()[0];

      // Act
      const plan = await resolveRestore(client, target, archiveOf(archivedCopy(held?.id ?? '', { sizeBytes: (held?.size ?? 0) + 1 })), { backupId: held?.id ?? '' }, false);

      // Assess
      expect(plan.mode).toBe('upload');
    });

    describe('an earlier upload, recognised by what the appliance read from its file', () => {
      /** An archived copy of another id whose file would read as the held backup (same second, size, software, box). */
      function lookalikeCopy(id: string, held: { backup_time?: number; size?: number; sw_version?: string; serial?: string; hostname?: string } | undefined) {
        const copy = archivedCopy(id, { sizeBytes: held?.size ?? 0 });
        const backupTime = new Date((held?.backup_time ?? 0) * 1000).toISOString();
        return { ...copy, manifest: { ...copy.manifest, source: { backup_time: backupTime, sw_version: held?.sw_version ?? '', serial: held?.serial ?? '', hostname: held?.hostname ?? '' } } };
      }

      test('is restored in place when it matches the one archived copy', async () => {
        // Prepare
        await start({ seedBackups: 1 });
        const held = simulator.backups()[0];
        const copy = lookalikeCopy('archived-a', held);

        // Act
        const plan = await resolveRestore(client, target, archiveOf(copy), { archiveKey: copy.manifest.objectKey }, false);

        // Assess
        expect(plan).toMatchObject({ mode: 'in-place', backup: { backupId: held?.id } });
      });

      test('is neither copy\'s when it matches two (two backups in one second, of one size): the copy asked for is uploaded', async () => {
        // Prepare
        await start({ seedBackups: 1 });
        const held = simulator.backups()[0];
        const asked = lookalikeCopy('archived-b', held);

        // Act
        const plan = await resolveRestore(client, target, archiveOf(lookalikeCopy('archived-a', held), asked), { archiveKey: asked.manifest.objectKey }, false);

        // Assess
        expect(plan).toMatchObject({ mode: 'upload', backup: { backupId: 'archived-b' } });
      });
    });

    test('"latest" takes the newest verified archive copy', async () => {
      // Prepare
      await start();
      const newest = archivedCopy('newest', { createdAt: '2026-03-21T01:00:00.000Z' });
      const broken = archivedCopy('broken', { createdAt: '2026-03-22T01:00:00.000Z', matches: false });

      // Act
      const plan = await resolveRestore(client, target, archiveOf(broken, newest, archivedCopy('older')), { latest: true }, false);

      // Assess
      expect(plan).toMatchObject({ mode: 'upload', backup: { backupId: 'newest' } });
    });

    test('refuses a software mismatch, naming both versions, and changes nothing', async () => {
      // Prepare: the backup was made on 11.12.0; the appliance was upgraded since.
      await start({ seedBackups: 1 });
      simulator.setSwVersion('12.0.1');
      const held = simulator.backups()[0];

      // Act
      const failure = resolveRestore(client, target, NO_COPIES, { backupId: held?.id ?? '' }, false);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(SoftwareVersionMismatch);
      await expect(failure).rejects.toThrow(`Backup ${held?.id ?? ''} was made on software 11.12.0; appliance "ar11-lab" runs 12.0.1. Nothing was changed.`);
      await expect(failure).rejects.toThrow('"allowVersionMismatch": true');
      expect(simulator.requests.filter((request) => request.method !== 'GET' && !request.path.includes('/token'))).toEqual([]);
    });

    test('allows a software mismatch when asked to', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      simulator.setSwVersion('12.0.1');
      const held = simulator.backups()[0];

      // Act
      const plan = await resolveRestore(client, target, NO_COPIES, { backupId: held?.id ?? '' }, true);

      // Assess
      expect(plan).toMatchObject({ mode: 'in-place', applianceVersion: '12.0.1', backup: { swVersion: '11.12.0' }, versionCheck: 'mismatch-allowed' });
    });

    test('does not take the newest backup on the appliance for its software version when it has no info resource', async () => {
      // Prepare: that backup's sw_version is the software of its day, not necessarily today's.
      await start({ seedBackups: 1, infoEndpoint: false });
      const copy = archivedCopy('gone-backup', { swVersion: '11.11.0' });

      // Act
      const plan = await resolveRestore(client, target, archiveOf(copy), { archiveKey: copy.manifest.objectKey }, false);

      // Assess
      expect(plan).toMatchObject({ applianceVersion: null, versionCheck: 'unknown' });
    });

    test('the version check is "unknown" when neither the info resource nor a backup says the version', async () => {
      // Prepare
      await start({ infoEndpoint: false });
      const copy = archivedCopy('gone-backup', { swVersion: '11.11.0' });

      // Act
      const plan = await resolveRestore(client, target, archiveOf(copy), { archiveKey: copy.manifest.objectKey }, false);

      // Assess
      expect(plan).toMatchObject({ mode: 'upload', applianceVersion: null, versionCheck: 'unknown' });
    });

    test('a backup neither on the appliance nor in the archive is BackupNotFound listing what there is', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const held = simulator.backups()[0];

      // Act
      const failure = resolveRestore(client, target, archiveOf(archivedCopy('archived-one')), { backupId: 'no-such-backup' }, false);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(BackupNotFound);
      await expect(failure).rejects.toThrow(`The appliance holds ${held?.id ?? ''} (not made by offsite, `);
      await expect(failure).rejects.toThrow('the archive has archived-one.');
    });

    test('an archive key without a verified copy is BackupNotFound', async () => {
      // Prepare
      await start();
      const broken = archivedCopy('broken', { matches: false });

      // Act / Assess
      await expect(resolveRestore(client, target, archiveOf(broken), { archiveKey: broken.manifest.objectKey }, false)).rejects.toThrow(
        `No verified archive copy of "ar11-lab" at ${broken.manifest.objectKey}. Archived copies: none.`,
      );
    });
  });
});

describe('restoreSelection', () => {
  test.each([
    ['nothing', {}],
    ['backupId and archiveKey', { backupId: 'b-1', archiveKey: 'ar11-lab/x.tgz' }],
    ['backupId and latest', { backupId: 'b-1', latest: true }],
  ])('refuses %s: exactly one is needed', (_case, input) => {
    // Act / Assess
    expect(() => restoreSelection(input)).toThrow(InvalidInput);
    expect(() => restoreSelection(input)).toThrow('Give exactly one of "backupId"');
  });

  test('refuses latest: false', () => {
    // Act / Assess
    expect(() => restoreSelection({ latest: false })).toThrow(new InvalidInput('"latest" must be true when given.'));
  });

  test.each([
    [{ backupId: 'b-1' }, { backupId: 'b-1' }],
    [{ backupId: 'latest' }, { latest: true }],
    [{ latest: true }, { latest: true }],
    [{ archiveKey: 'ar11-lab/x.tgz' }, { archiveKey: 'ar11-lab/x.tgz' }],
  ])('reads %j as %j', (input, expected) => {
    // Act / Assess
    expect(restoreSelection(input)).toEqual(expected);
  });
});
