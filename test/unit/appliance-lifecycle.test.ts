import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ArchiveListing, ArchivedCopy } from '../../functions/archive/catalog';
import { applianceAuthenticator, type ApplianceLogin } from '../../functions/kinds/appliance/auth';
import { ApplianceClient, type ApplianceBackup } from '../../functions/kinds/appliance/client';
import {
  checkBackup,
  checkRestore,
  createBackup,
  isRebootSymptom,
  planPrune,
  readRestoreBaseline,
  requestRestore,
  resolveRestore,
  restoreSelection,
  startRestorePoll,
  type RestoreBaseline,
  type RestoreStarted,
} from '../../functions/kinds/appliance/lifecycle';
import { applianceTransport } from '../../functions/kinds/appliance/transport';
import { checkUploadedBackup, uploadFromArchive } from '../../functions/kinds/appliance/upload';
import type { ApplianceTarget } from '../../functions/config/schema';
import {
  ApplianceBackupFailed,
  ApplianceStorageFull,
  BackupNotFound,
  CopyVerificationFailed,
  InvalidInput,
  RebootWindowExceeded,
  RestoreFailed,
  SoftwareVersionMismatch,
  TransientApiError,
  VendorApiError,
} from '../../functions/shared/errors';
import { startPoll } from '../../functions/shared/poll';
import { startApplianceSimulator, type ApplianceSimulator, type ApplianceSimulatorOptions } from '../../bin/sandbox/appliance-simulator';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { localS3Client } from '../support/harness';

const target: ApplianceTarget = {
  name: 'ar11-lab',
  kind: 'appliance',
  baseUrl: 'https://127.0.0.1',
  auth: { method: 'token', apiVersion: '1.0', username: 'offsite', password: { env: 'APPLIANCE_PASSWORD' } },
  poll: { initialSeconds: 15, maxSeconds: 120, timeoutMinutes: 120 },
  applianceKeep: 1,
  restore: { rebootWindowMinutes: 30 },
  requestTimeoutSeconds: 30,
};

const MADE_BY_OFFSITE = 'Made by offsite (target ar11-lab, execution exec-1)';
const NO_COPIES: ArchiveListing = { copies: [], withoutManifest: [], unreadableManifests: [] };
const readNoCopies = async (): Promise<ArchiveListing> => NO_COPIES;
const clock = () => new Date();

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function backup(id: string, backupTime: number, fields: Partial<ApplianceBackup> = {}): ApplianceBackup {
  return { id, backup_time: backupTime, description: MADE_BY_OFFSITE, status: 'completed', size: 1000, sw_version: '11.12.0', ...fields };
}

function archivedCopy(
  sourceBackupId: string,
  options: { sizeBytes?: number; matches?: boolean; createdAt?: string; swVersion?: string; sha256?: string } = {},
): ArchivedCopy {
  const createdAt = options.createdAt ?? '2026-03-20T01:00:00.000Z';
  const sizeBytes = options.sizeBytes ?? 1000;
  const objectKey = `ar11-lab/${createdAt.replace(/:/g, '-')}_${sourceBackupId}.tgz`;
  return {
    manifestKey: `${objectKey}.manifest.json`,
    manifest: {
      formatVersion: 1,
      target: 'ar11-lab',
      kind: 'appliance',
      sourceBackupId,
      objectKey,
      sizeBytes,
      sha256: options.sha256 ?? 'a'.repeat(64),
      sourceChecksum: null,
      sourceChecksumAlgorithm: null,
      sourceChecksumVerified: false,
      sourceSizeBytes: sizeBytes,
      createdAt,
      copiedAt: createdAt,
      contentType: 'application/x-gzip',
      source: { sw_version: options.swVersion ?? '11.12.0' },
    },
    objectMatchesManifest: options.matches ?? true,
  };
}

function archiveOf(...copies: ArchivedCopy[]): ArchiveListing {
  return { copies, withoutManifest: [], unreadableManifests: [] };
}

function clientFor(baseUrl: string, login: ApplianceLogin, ca: string | undefined, timeoutMs = 5000): ApplianceClient {
  const transport = applianceTransport({ ca, verifyCertificate: true });
  const auth = applianceAuthenticator({ baseUrl, login, http: { fetch: transport.fetch, timeoutMs }, cache: new Map() });
  return new ApplianceClient({ baseUrl, auth, transport, timeoutMs });
}


const NO_RESTORE_YET = { previousStatus: 'not_run', previousRestoreTime: 0 };

describe('appliance lifecycle against the appliance simulator', () => {
  let simulator: ApplianceSimulator;
  let client: ApplianceClient;

  async function start(options: ApplianceSimulatorOptions = {}, timeoutMs?: number): Promise<ApplianceSimulator> {
    simulator = await startApplianceSimulator({ backupDurationMs: 60, backupSizeBytes: 20_000, rebootWindowMs: 150, ...options });
    client = clientFor(simulator.url, { method: 'token', apiVersion: '1.0', username: simulator.username, password: simulator.password }, simulator.caPem, timeoutMs);
    return simulator;
  }

  afterEach(async () => {
    await simulator.stop();
  });

  describe('createBackup and checkBackup', () => {
    test('creates a backup whose description says offsite made it', async () => {
      // Prepare
      await start();

      // Act
      const created = await createBackup(client, target, 'exec-1', readNoCopies);

      // Assess
      expect(created).toMatchObject({ status: 'started', description: MADE_BY_OFFSITE, poll: startPoll(target.poll) });
      expect(simulator.backups().map((held) => held.description)).toEqual([MADE_BY_OFFSITE]);
    });

    test('a full appliance is ApplianceStorageFull naming the fix and every backup it holds', async () => {
      // Prepare: one backup of ours and one from the appliance scheduler fill both slots.
      await start({ seedBackups: 1, storageLimit: 2 });
      const ours = await createBackup(client, target, 'exec-1', readNoCopies);
      await sleep(100);
      const theirs = simulator.backups().find((held) => held.id !== ours.backupId);

      // Act
      const failure = createBackup(client, target, 'exec-2', readNoCopies);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
      await expect(failure).rejects.toThrow('Appliance "ar11-lab" refused a new backup; its backup storage is full');
      await expect(failure).rejects.toThrow(`${ours.backupId} (made by offsite, `);
      await expect(failure).rejects.toThrow(`${theirs?.id ?? 'missing'} (not made by offsite, `);
      await expect(failure).rejects.toThrow('or lower applianceKeep (now 1)');
      expect(simulator.backups()).toHaveLength(2);
    });

    test('a full appliance holding a backup offsite made and archived deletes it, says so, and makes the new backup', async () => {
      // Prepare: the scheduler's backup and ours (archived and verified) fill both slots.
      await start({ seedBackups: 1, storageLimit: 2 });
      const ours = await createBackup(client, target, 'exec-1', readNoCopies);
      await sleep(100);
      const theirs = simulator.backups().find((held) => held.id !== ours.backupId);
      const copy = archivedCopy(ours.backupId, { sizeBytes: simulator.backupBytes(ours.backupId).length });

      // Act
      const created = await createBackup(client, target, 'exec-2', async () => archiveOf(copy));

      // Assess
      expect(created.description).toBe('Made by offsite (target ar11-lab, execution exec-2)');
      expect(simulator.backups().map((held) => held.id).sort()).toEqual([theirs?.id, created.backupId].sort());
      expect(created.notes).toEqual([expect.stringContaining(`deleted backup ${ours.backupId}`)]);
      expect(created.notes[0]).toContain(`archived and verified as ${copy.manifest.objectKey}`);
    });

    test('a full appliance deletes only an archived backup offsite made: with none, nothing is deleted and it fails as ApplianceStorageFull', async () => {
      // Prepare: ours has an archive copy whose object is missing, so it is not verified.
      await start({ seedBackups: 1, storageLimit: 2 });
      const ours = await createBackup(client, target, 'exec-1', readNoCopies);
      await sleep(100);
      const unverified = archivedCopy(ours.backupId, { sizeBytes: simulator.backupBytes(ours.backupId).length, matches: false });
      const before = simulator.backups().map((held) => held.id);

      // Act
      const failure = createBackup(client, target, 'exec-2', async () => archiveOf(unverified));

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
      expect(simulator.backups().map((held) => held.id)).toEqual(before);
      expect(simulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    });

    test('a 500 after the appliance made the backup adopts that backup, never making a second', async () => {
      // Prepare
      await start();
      simulator.loseNextCreateAnswer(500);

      // Act
      const created = await createBackup(client, target, 'exec-1', readNoCopies);

      // Assess
      expect(simulator.backups().map((held) => held.id)).toEqual([created.backupId]);
      expect(created).toMatchObject({ description: MADE_BY_OFFSITE, poll: startPoll(target.poll) });
      expect(created.notes).toEqual([expect.stringContaining(`the appliance had made backup ${created.backupId}, which this run adopted`)]);
      expect(simulator.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backups'))).toHaveLength(1);
    });

    test('a gateway page answering the create request is quoted by its title, never as markup', async () => {
      // Prepare
      await start();
      simulator.loseNextCreateAnswer(502);

      // Act
      const created = await createBackup(client, target, 'exec-1', readNoCopies);

      // Assess
      expect(created.notes[0]).toContain('HTTP 502 — 502 Bad Gateway (HTML page, ');
      expect(created.notes[0]).not.toContain('<');
    });

    test('a backup the appliance reports failed is ApplianceBackupFailed with its status_message', async () => {
      // Prepare
      await start();
      simulator.failNextBackup('Backup failed: not enough space in /var/backups');
      const created = await createBackup(client, target, 'exec-1', readNoCopies);
      await sleep(100);

      // Act
      const failure = checkBackup(client, target, created.backupId, created.poll);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(ApplianceBackupFailed);
      await expect(failure).rejects.toThrow(`backup ${created.backupId} failed: Backup failed: not enough space in /var/backups`);
    });

    test('checkBackup reports progress and the completed backup with its size', async () => {
      // Prepare
      await start();
      const created = await createBackup(client, target, 'exec-1', readNoCopies);

      // Act
      const running = await checkBackup(client, target, created.backupId, created.poll);
      await sleep(100);
      const completed = await checkBackup(client, target, created.backupId, running.poll);

      // Assess
      expect(running.status).toMatch(/^(started|uploading)$/);
      expect(completed).toMatchObject({ status: 'completed', sizeBytes: simulator.backupBytes(created.backupId).length });
      expect(completed.poll.attempt).toBe(2);
    });

    test('an uploaded backup of another size than was sent is CopyVerificationFailed', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      const held = simulator.backups()[0];

      // Act / Assess
      await expect(checkBackup(client, target, held?.id ?? '', startPoll(target.poll), (held?.size ?? 0) + 1)).rejects.toBeInstanceOf(CopyVerificationFailed);
    });
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

  describe('requestRestore and checkRestore', () => {
    async function restoreFirstBackup(): Promise<RestoreStarted & RestoreBaseline> {
      const baseline = await readRestoreBaseline(client);
      const started = await requestRestore(client, simulator.backups()[0]?.id ?? '', baseline, clock);
      return { ...baseline, ...started };
    }
    const fresh = () => ({ poll: startRestorePoll(target), unreachableChecks: 0 });

    test('an appliance that is rebooting within the window is phase "rebooting"', async () => {
      // Prepare
      await start({ seedBackups: 1, rebootWindowMs: 10_000 });
      const started = await restoreFirstBackup();

      // Act
      const progress = await checkRestore(client, target, started, fresh(), clock);

      // Assess
      expect(started).toMatchObject({ acknowledged: true, previousRestoreTime: 0, previousStatus: 'not_run' });
      expect(progress).toMatchObject({ phase: 'rebooting', status: null, unreachableChecks: 1 });
    });

    test.each(['503', '502'] as const)('a front web server answering %s for the rebooting appliance is phase "rebooting"', async (rebootBehaviour) => {
      // Prepare
      await start({ seedBackups: 1, rebootWindowMs: 10_000, rebootBehaviour });
      const started = await restoreFirstBackup();

      // Act / Assess
      await expect(checkRestore(client, target, started, fresh(), clock)).resolves.toMatchObject({ phase: 'rebooting' });
    });

    test('an appliance that does not answer while rebooting is phase "rebooting"', async () => {
      // Prepare
      await start({ seedBackups: 1, rebootWindowMs: 10_000, rebootBehaviour: 'hang' }, 300);
      const started = await restoreFirstBackup();

      // Act / Assess
      await expect(checkRestore(client, target, started, fresh(), clock)).resolves.toMatchObject({ phase: 'rebooting' });
    });

    test('still unreachable beyond the reboot window is RebootWindowExceeded', async () => {
      // Prepare
      await start({ seedBackups: 1, rebootWindowMs: 10_000 });
      const started = await restoreFirstBackup();
      const later = () => new Date((started.requestedAt + 31 * 60) * 1000);

      // Act
      const failure = checkRestore(client, target, started, fresh(), later);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(RebootWindowExceeded);
      await expect(failure).rejects.toThrow('Appliance "ar11-lab" is still unreachable 31 min after the restore was requested (restore.rebootWindowMinutes is 30)');
    });

    test('the previous restore\'s status shown after the reboot is phase "waiting", then the new one completes', async () => {
      // Prepare: the status service reports an earlier failed restore for one more read.
      await start({ seedBackups: 1, previousRestore: { status: 'failed', last_restore_time: Math.floor(Date.now() / 1000) - 3600 } });
      simulator.setStaleRestoreStatusReads(1);
      const started = await restoreFirstBackup();
      await sleep(250);

      // Act
      const first = await checkRestore(client, target, started, fresh(), clock);
      const second = await checkRestore(client, target, started, first, clock);

      // Assess
      expect(first).toMatchObject({ phase: 'waiting', status: 'failed' });
      expect(second).toMatchObject({ phase: 'completed', status: 'completed', lastRestoreTime: simulator.restores[0]?.startedAt });
      expect(second.poll.attempt).toBe(2);
    });

    test('completed_with_errors is RestoreFailed carrying the status_message', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      simulator.setRestoreOutcome('completed_with_errors', 'Restore completed with errors: SNMP settings could not be applied');
      const started = await restoreFirstBackup();
      await sleep(250);

      // Act
      const failure = checkRestore(client, target, started, fresh(), clock);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(RestoreFailed);
      await expect(failure).rejects.toThrow('reports the restore completed_with_errors: Restore completed with errors: SNMP settings could not be applied');
    });

    test('failed is RestoreFailed carrying the status_message', async () => {
      // Prepare
      await start({ seedBackups: 1 });
      simulator.setRestoreOutcome('failed');
      const started = await restoreFirstBackup();
      await sleep(250);

      // Act / Assess
      await expect(checkRestore(client, target, started, fresh(), clock)).rejects.toThrow(
        'reports the restore failed: Restore failed: the backup could not be applied; the previous configuration is still active',
      );
    });

    test('a restore in the second of the previous one, reported after its reboot exactly as that one was, is completed', async () => {
      // Prepare: the previous restore, pinned to the same second, has completed and the appliance is back.
      await start({ seedBackups: 1 });
      simulator.pinRestoreTime(Math.floor(Date.now() / 1000));
      await restoreFirstBackup();
      await sleep(250);
      const started = await restoreFirstBackup();

      // Act
      const duringReboot = await checkRestore(client, target, started, fresh(), clock);
      await sleep(250);
      const after = await checkRestore(client, target, started, duringReboot, clock);

      // Assess
      const second = simulator.restores[0]?.startedAt;
      expect(started).toMatchObject({ previousStatus: 'completed', previousRestoreTime: second, restoreTime: second });
      expect(duringReboot).toMatchObject({ phase: 'rebooting' });
      expect(after).toMatchObject({ phase: 'completed', status: 'completed', lastRestoreTime: second });
    });
  });
});

describe('appliance lifecycle against a hand-written appliance', () => {
  let server: Server;
  let baseUrl: string;
  let answer: (method: string, path: string) => { status: number; body?: unknown };
  const login: ApplianceLogin = { method: 'basic', username: 'offsite', password: 'not-checked' };
  const client = (): ApplianceClient => clientFor(baseUrl, login, undefined);
  const badRequest = { status: 400, body: { error_id: 'REQUEST_INVALID_INPUT', error_text: 'description: unexpected character' } };

  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const { status, body } = answer(request.method ?? 'GET', new URL(request.url ?? '/', 'http://appliance.invalid').pathname);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body === undefined ? undefined : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a bare 400 while the appliance holds fewer than 2 backups is not taken as a full disk', async () => {
    // Prepare
    answer = (method) => (method === 'POST' ? badRequest : { status: 200, body: { items: [backup('b-1', 1_774_000_000)] } });

    // Act
    const failure = createBackup(client(), target, 'exec-1', readNoCopies);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(VendorApiError);
    await expect(failure).rejects.not.toBeInstanceOf(ApplianceStorageFull);
    await expect(failure).rejects.toThrow('create appliance backup failed: HTTP 400 — REQUEST_INVALID_INPUT: description: unexpected character');
  });

  test('a bare 400 while the appliance holds 2 backups is taken as a full disk', async () => {
    // Prepare
    answer = (method) => (method === 'POST' ? badRequest : { status: 200, body: { items: [backup('b-1', 1_774_000_000), backup('b-2', 1_774_086_400, { description: 'nightly' })] } });

    // Act
    const failure = createBackup(client(), target, 'exec-1', readNoCopies);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(ApplianceStorageFull);
    await expect(failure).rejects.toThrow('It holds b-1 (made by offsite, 2026-03-20T09:46:40.000Z), b-2 (not made by offsite, 2026-03-21T09:46:40.000Z).');
  });

  test('a 5xx on create with no backup made is TransientApiError saying nothing was left behind', async () => {
    // Prepare
    answer = (method) => (method === 'POST' ? { status: 500, body: { error_id: 'INTERNAL_ERROR', error_text: 'disk I/O error' } } : { status: 200, body: { items: [] } });

    // Act
    const failure = createBackup(client(), target, 'exec-1', readNoCopies);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientApiError);
    await expect(failure).rejects.toThrow(`HTTP 500 — INTERNAL_ERROR: disk I/O error. The appliance lists no backup described "${MADE_BY_OFFSITE}", so none was made and nothing was left behind`);
  });

  test('a 5xx on create whose backups cannot be listed names the description to look for', async () => {
    // Prepare
    answer = () => ({ status: 500, body: { error_id: 'INTERNAL_ERROR', error_text: 'disk I/O error' } });

    // Act
    const failure = createBackup(client(), target, 'exec-1', readNoCopies);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientApiError);
    await expect(failure).rejects.toThrow(`it is not known whether a backup was made: look on the appliance for one described "${MADE_BY_OFFSITE}"`);
  });

  test('a 502 answering the restore request is taken as the appliance rebooting: not acknowledged, not failed', async () => {
    // Prepare
    answer = () => ({ status: 502, body: '<html>Bad Gateway</html>' });

    // Act
    const started = await requestRestore(client(), 'b-1', NO_RESTORE_YET, () => new Date('2026-03-21T09:00:00Z'));

    // Assess
    expect(started).toMatchObject({ requestedAt: Date.parse('2026-03-21T09:00:00Z') / 1000, acknowledged: false });
    expect(started.note).toMatch(/^The answer to the restore request was lost \(start restore of appliance backup b-1 failed: HTTP 502/);
  });

  test('a 409 answering the restore request is an error', async () => {
    // Prepare
    answer = () => ({ status: 409, body: { error_id: 'BACKUP_NOT_COMPLETED', error_text: 'Backup is started' } });

    // Act / Assess
    await expect(requestRestore(client(), 'b-1', NO_RESTORE_YET, clock)).rejects.toMatchObject({ name: 'VendorApiError', status: 409 });
  });

  test('a 500 answering the restore request is not acknowledged either: restore_status decides, nothing is repeated', async () => {
    // Prepare
    answer = () => ({ status: 500, body: { error_id: 'INTERNAL', error_text: 'restore daemon went away' } });

    // Act
    const started = await requestRestore(client(), 'b-1', NO_RESTORE_YET, clock);

    // Assess
    expect(started).toMatchObject({ acknowledged: false });
  });

  test('a restore still running on the appliance refuses a new one before any request', async () => {
    // Prepare
    let calls = 0;
    answer = () => {
      calls += 1;
      return { status: 202, body: {} };
    };

    // Act
    const refused = requestRestore(client(), 'b-1', { previousStatus: 'started', previousRestoreTime: 1_700_000_000 }, clock);

    // Assess
    await expect(refused).rejects.toMatchObject({ name: 'RestoreInProgress' });
    expect(calls).toBe(0);
  });

  describe('a restore the appliance puts in the second of the previous one', () => {
    const fresh = () => ({ poll: startRestorePoll(target), unreachableChecks: 0 });
    /** restore_status answers these in turn (the first is the baseline); the restore request answers `started` at `second`, or 502. */
    function appliance(second: number, reads: Array<{ status: number; body?: unknown }>, requestAnswer: 'started' | 502 = 'started'): void {
      answer = (method, path) => {
        if (method === 'POST' && path.endsWith('/restore')) {
          return requestAnswer === 502 ? { status: 502, body: 'Bad Gateway' } : { status: 202, body: { last_restore_time: second, status: 'started', status_message: '' } };
        }
        return reads.shift() ?? { status: 500, body: { error_id: 'TEST', error_text: 'no more reads scripted' } };
      };
    }
    async function requested(): Promise<RestoreStarted & RestoreBaseline> {
      const baseline = await readRestoreBaseline(client());
      return { ...baseline, ...(await requestRestore(client(), 'b-1', baseline, clock)) };
    }
    const status = (second: number, value: string, message = '') => ({ status: 200, body: { last_restore_time: second, status: value, status_message: message } });

    test('its status, the same as the previous one\'s, is "waiting" until the appliance is seen reporting another status, then completed', async () => {
      // Prepare: no reboot is seen; the previous restore's status shows once more, then `started`, then the outcome.
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second, 'completed'), status(second, 'completed'), status(second, 'started'), status(second, 'completed')]);
      const started = await requested();

      // Act
      const stale = await checkRestore(client(), target, started, fresh(), clock);
      const running = await checkRestore(client(), target, started, stale, clock);
      const done = await checkRestore(client(), target, started, running, clock);

      // Assess
      expect(started).toMatchObject({ previousRestoreTime: second, previousStatus: 'completed', restoreTime: second, acknowledged: true });
      expect([stale.phase, running.phase, done.phase]).toEqual(['waiting', 'restoring', 'completed']);
    });

    test('its status, the same as the previous one\'s, is completed once the appliance has been seen rebooting', async () => {
      // Prepare
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second, 'completed'), { status: 503, body: 'Service Unavailable' }, status(second, 'completed')]);
      const started = await requested();

      // Act
      const rebooting = await checkRestore(client(), target, started, fresh(), clock);
      const done = await checkRestore(client(), target, started, rebooting, clock);

      // Assess
      expect([rebooting.phase, done.phase]).toEqual(['rebooting', 'completed']);
    });

    test('another outcome in that second is this restore\'s: RestoreFailed with its status_message', async () => {
      // Prepare
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second, 'completed'), status(second, 'failed', 'Restore failed: bad file')]);
      const started = await requested();

      // Act
      const failure = checkRestore(client(), target, started, fresh(), clock);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(RestoreFailed);
      await expect(failure).rejects.toThrow('reports the restore failed: Restore failed: bad file');
    });

    test('with the answer to the request lost, the previous restore\'s status is still "waiting" after the reboot: nothing says this restore is in that second', async () => {
      // Prepare
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second, 'completed'), { status: 503, body: 'Service Unavailable' }, status(second, 'completed')], 502);
      const started = await requested();

      // Act
      const rebooting = await checkRestore(client(), target, started, fresh(), clock);
      const after = await checkRestore(client(), target, started, rebooting, clock);

      // Assess
      expect(started).toMatchObject({ acknowledged: false, restoreTime: null });
      expect([rebooting.phase, after.phase]).toEqual(['rebooting', 'waiting']);
    });

    test('a previous restore from an hour before, shown after the reboot, is "waiting" although the appliance was seen rebooting', async () => {
      // Prepare
      const second = Math.floor(Date.now() / 1000);
      appliance(second, [status(second - 3600, 'completed'), { status: 503, body: 'Service Unavailable' }, status(second - 3600, 'completed'), status(second, 'completed')]);
      const started = await requested();

      // Act
      const rebooting = await checkRestore(client(), target, started, fresh(), clock);
      const stale = await checkRestore(client(), target, started, rebooting, clock);
      const done = await checkRestore(client(), target, started, stale, clock);

      // Assess
      expect([rebooting.phase, stale.phase, done.phase]).toEqual(['rebooting', 'waiting', 'completed']);
    });
  });

  describe('checkUploadedBackup', () => {
    function appliance(uploaded: Partial<ApplianceBackup>): string[] {
      const calls: string[] = [];
      answer = (method, path) => {
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
    client = clientFor(simulator.url, { method: 'token', apiVersion: '1.0', username: simulator.username, password: simulator.password }, simulator.caPem);
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
    client = clientFor(simulator.url, { method: 'token', apiVersion: '1.0', username: simulator.username, password: simulator.password }, simulator.caPem);
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

describe('planPrune', () => {
  test('keeps the newest applianceKeep backups offsite made and deletes older ones with a verified copy', () => {
    // Prepare: listed in no particular order, as the appliance does.
    const backups = [backup('b-200', 200), backup('b-300', 300), backup('b-100', 100)];

    // Act
    const plan = planPrune(backups, archiveOf(archivedCopy('b-100'), archivedCopy('b-200'), archivedCopy('b-300')), 1);

    // Assess
    expect(plan).toEqual({ delete: ['b-200', 'b-100'], keptWithoutArchiveCopy: [], notMadeByOffsite: [] });
  });

  test('keeps older backups without a verified copy: none, object not matching its manifest, or another size', () => {
    // Prepare
    const backups = [backup('newest', 400), backup('no-copy', 300), backup('broken-copy', 200), backup('other-size', 100)];
    const archive = archiveOf(archivedCopy('broken-copy', { matches: false }), archivedCopy('other-size', { sizeBytes: 999 }));

    // Act
    const plan = planPrune(backups, archive, 1);

    // Assess
    expect(plan).toEqual({ delete: [], keptWithoutArchiveCopy: ['no-copy', 'broken-copy', 'other-size'], notMadeByOffsite: [] });
  });

  test('never touches backups offsite did not make, however old and however archived', () => {
    // Prepare
    const backups = [backup('ours', 300), backup('nightly', 100, { description: 'nightly (appliance scheduler)' }), backup('manual', 50, { description: undefined })];
    const archive = archiveOf(archivedCopy('ours'), archivedCopy('nightly'), archivedCopy('manual'));

    // Act
    const plan = planPrune(backups, archive, 0);

    // Assess
    expect(plan).toEqual({ delete: ['ours'], keptWithoutArchiveCopy: [], notMadeByOffsite: ['nightly', 'manual'] });
  });

  test('a running backup is neither counted as kept nor deleted; a failed one offsite made is deleted, as it only holds a slot', () => {
    // Prepare
    const backups = [backup('running', 500, { status: 'started' }), backup('failed', 400, { status: 'failed' }), backup('kept', 300), backup('old', 200)];
    const archive = archiveOf(archivedCopy('old'));

    // Act
    const plan = planPrune(backups, archive, 1);

    // Assess
    expect(plan).toEqual({ delete: ['failed', 'old'], keptWithoutArchiveCopy: [], notMadeByOffsite: [] });
  });

  test('a backup as old as the newest one kept is kept too (backup_time has whole seconds)', () => {
    // Prepare
    const backups = [backup('a', 300), backup('b', 300), backup('c', 200)];

    // Act
    const plan = planPrune(backups, archiveOf(archivedCopy('a'), archivedCopy('b'), archivedCopy('c')), 1);

    // Assess
    expect(plan.delete).toEqual(['c']);
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

describe('isRebootSymptom', () => {
  test.each([
    ['a dropped connection', new TransientApiError('network error ECONNRESET'), true],
    ['a 502', new TransientApiError('HTTP 502', undefined, 502), true],
    ['a 503', new TransientApiError('HTTP 503', undefined, 503), true],
    ['a 504', new TransientApiError('HTTP 504', undefined, 504), true],
    ['a 500', new TransientApiError('HTTP 500', undefined, 500), false],
    ['a 429', new TransientApiError('HTTP 429', 5, 429), false],
    ['a 404', new VendorApiError('HTTP 404', 404), false],
  ])('%s', (_case, error, expected) => {
    // Act / Assess
    expect(isRebootSymptom(error)).toBe(expected);
  });
});
