import {
  DeleteObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectTaggingCommand,
  S3Client,
  GetObjectCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { localS3Client, type LocalS3 } from '../../bin/sandbox/local-s3';
import { localStoreForSuite } from '../support/local-store';
import { pruneCommand } from '../../bin/cli/prune';
import { protectCommand } from '../../bin/cli/protect';
import { archiveKeyFor, manifestKeyFor } from '../../functions/archive/manifest';
import { pruneArchive } from '../../functions/archive/prune';
import type { PruneReport, RetentionPolicy } from '../../functions/archive/prune-report';
import { parseConfig } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import type { CliIo } from '../../bin/cli/commands';
import { PROXMOX_PRUNE_VECTORS } from '../support/proxmox-prune-vectors';
import { putArchivedCopy } from '../support/archived-copy';

const BUCKET = 'prune-test';
const TARGET = 'netbox-prod';
const NOW = new Date('2030-01-01T00:00:00Z');

function configFor(store: LocalS3, retention: RetentionPolicy | undefined, extra: { objectLock?: boolean } = {}): OffsiteConfig {
  return parseConfig(
    {
      archive: { bucket: BUCKET, prefix: 'backups/', region: store.region, endpoint: store.endpoint, ...(extra.objectLock ? { objectLock: { mode: 'GOVERNANCE', days: 30 } } : {}) },
      timezone: 'UTC',
      targets: [
        {
          name: TARGET,
          kind: 'netbox-cloud',
          baseUrl: 'https://api.netboxlabs.com',
          orgId: 'org-123',
          instanceId: 'nb-a12ff000777',
          credentials: { env: 'NETBOX_CLOUD_API_KEY' },
          ...(retention ? { retention } : {}),
        },
      ],
    },
    'test',
  );
}

function captureIo(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (line) => lines.push(line), err: (line) => errors.push(line), errStream: process.stderr };
}

/** A whole copy (object, then manifest) as the copier leaves it. */
async function plantCopy(s3: S3Client, createdAt: string): Promise<string> {
  const objectKey = archiveKeyFor('backups/', TARGET, createdAt, `b-${createdAt}`, '.tar.gz');
  await putArchivedCopy(s3, BUCKET, { target: TARGET, objectKey, sourceBackupId: `b-${createdAt}`, createdAt, bytes: Buffer.from(`backup ${createdAt}`) });
  return objectKey;
}

async function keysIn(s3: S3Client): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (page.Contents ?? []).map((object) => object.Key ?? '').sort();
}

describe('offsite prune and protect against the local store', () => {
  const local = localStoreForSuite('offsite-prune-', [BUCKET]);

  beforeAll(() => {
    // The CLI's archive client takes the store's credentials from the environment, as a user's shell gives them.
    process.env.AWS_ACCESS_KEY_ID = local.store.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = local.store.secretAccessKey;
  });

  afterEach(async () => {
    for (const key of await keysIn(local.s3)) await local.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  });

  test.each(PROXMOX_PRUNE_VECTORS.filter((vector) => !vector.copies.some((copy) => copy.protected)).map((v) => [v.name, v] as const))(
    'a real prune leaves exactly the copies the vector keeps, each whole: %s',
    async (_name, vector) => {
      // Prepare
      const planted = new Map<string, string>();
      for (const copy of vector.copies) planted.set(copy.createdAt, await plantCopy(local.s3, copy.createdAt));
      const io = captureIo();

      // Act
      const result = await pruneCommand(configFor(local.store, vector.policy), TARGET, io, { json: true, clock: () => NOW });

      // Assess
      expect(result.exitCode).toBe(0);
      const expectedKeys = vector.kept.flatMap((createdAt) => {
        const key = planted.get(createdAt) ?? '';
        return [key, manifestKeyFor(key)];
      });
      expect(await keysIn(local.s3)).toEqual(expectedKeys.sort());
      const printed = JSON.parse(io.lines.join('\n')) as PruneReport;
      expect(Object.keys(printed)).toEqual(['target', 'timezone', 'policy', 'dryRun', 'copies']);
    },
  );

  test('--dry-run removes nothing and prints the exact JSON of docs/design.md, newest first, with rule and period', async () => {
    // Prepare
    const older = await plantCopy(local.s3, '2019-12-03T11:59:15Z');
    const newer = await plantCopy(local.s3, '2019-12-04T11:59:15Z');
    const oldest = await plantCopy(local.s3, '2019-12-02T11:59:15Z');
    const io = captureIo();

    // Act
    const result = await pruneCommand(configFor(local.store, { keepLast: 1, keepDaily: 1 }), TARGET, io, { dryRun: true, json: true, clock: () => NOW });

    // Assess
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(io.lines.join('\n'))).toEqual({
      target: TARGET,
      timezone: 'UTC',
      policy: { keepLast: 1, keepDaily: 1 },
      dryRun: true,
      copies: [
        { objectKey: newer, sourceBackupId: 'b-2019-12-04T11:59:15Z', createdAt: '2019-12-04T11:59:15.000Z', decision: 'keep', reason: 'keep-last 1' },
        { objectKey: older, sourceBackupId: 'b-2019-12-03T11:59:15Z', createdAt: '2019-12-03T11:59:15.000Z', decision: 'keep', reason: 'keep-daily 2019-12-03' },
        { objectKey: oldest, sourceBackupId: 'b-2019-12-02T11:59:15Z', createdAt: '2019-12-02T11:59:15.000Z', decision: 'remove', reason: 'outside keep-last 1, keep-daily 1' },
      ],
    });
    expect(await keysIn(local.s3)).toHaveLength(6);
  });

  test('a protected copy survives a policy that would remove it, shows as protected, and goes once unprotected', async () => {
    // Prepare
    await plantCopy(local.s3, '2019-12-04T11:59:15Z');
    const old = await plantCopy(local.s3, '2019-12-01T11:59:15Z');
    const config = configFor(local.store, { keepLast: 1 });
    expect((await protectCommand(config, TARGET, old, captureIo(), { protect: true })).exitCode).toBe(0);

    // Act
    const kept = await pruneCommand(config, TARGET, captureIo(), { clock: () => NOW });
    await protectCommand(config, TARGET, old, captureIo(), { protect: false });
    const afterUnprotect = await pruneCommand(config, TARGET, captureIo(), { clock: () => NOW });

    // Assess
    expect(kept.report.copies.find((copy) => copy.objectKey === old)).toMatchObject({ decision: 'protected', reason: 'protected' });
    expect(afterUnprotect.report.copies.find((copy) => copy.objectKey === old)).toMatchObject({ decision: 'remove', removal: { done: true } });
    expect(await keysIn(local.s3)).not.toContain(old);
  });

  test('protect refuses a key that is not a copy of the target (exit 2 through InvalidInput)', async () => {
    // Prepare
    const config = configFor(local.store, { keepLast: 1 });

    // Act / Assess
    await expect(protectCommand(config, TARGET, 'backups/netbox-prod/nothing.tar.gz', captureIo(), { protect: true })).rejects.toThrow(/no manifest/);
    await expect(protectCommand(config, TARGET, 'elsewhere/x.tar.gz', captureIo(), { protect: true })).rejects.toThrow(/not an archived copy/);
  });

  test('an interrupted copy left without a manifest is removed; reports, foreign objects and objects beside an unreadable manifest are not', async () => {
    // Prepare
    const kept = await plantCopy(local.s3, '2019-12-04T11:59:15Z');
    const interrupted = archiveKeyFor('backups/', TARGET, '2019-12-01T11:59:15Z', 'b-cut', '.tar.gz');
    const unreadable = archiveKeyFor('backups/', TARGET, '2019-12-02T11:59:15Z', 'b-unreadable', '.tar.gz');
    const untouchable = [
      `backups/${TARGET}/audit/2019-12-01T06-00-00Z.json`,
      `backups/${TARGET}/drills/2019-12-01T06-00-00Z.json`,
      `backups/${TARGET}/notes-from-the-operator.txt`,
      unreadable,
      manifestKeyFor(unreadable),
    ];
    for (const key of [interrupted, ...untouchable]) {
      await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key === manifestKeyFor(unreadable) ? '{ not json' : 'bytes' }));
    }
    const io = captureIo();

    // Act
    const result = await pruneCommand(configFor(local.store, { keepLast: 1 }), TARGET, io, { json: true, clock: () => NOW });

    // Assess
    expect(result.exitCode).toBe(0);
    expect(await keysIn(local.s3)).toEqual([kept, manifestKeyFor(kept), ...untouchable].sort());
  });

  test('removal deletes the manifest before the object', async () => {
    // Prepare
    await plantCopy(local.s3, '2019-12-04T11:59:15Z');
    const old = await plantCopy(local.s3, '2019-12-01T11:59:15Z');
    const deletes: string[] = [];
    const recording = localS3Client(local.store);
    recording.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectCommand') deletes.push((args.input as { Key: string }).Key);
        return next(args);
      },
      { step: 'initialize' },
    );

    // Act
    await pruneArchive({ s3: recording, bucket: BUCKET, prefix: 'backups/', target: TARGET, policy: { keepLast: 1 }, timezone: 'UTC', objectLock: false, dryRun: false, now: NOW });

    // Assess
    expect(deletes).toEqual([manifestKeyFor(old), old]);
  });
});

describe('prune failures and Object Lock (S3 mocked: the local store has no Object Lock)', () => {
  const copies = [
    { createdAt: '2019-12-04T11:59:15Z', key: 'backups/netbox-prod/2019-12-04T11-59-15Z_new.tar.gz' },
    { createdAt: '2019-12-01T11:59:15Z', key: 'backups/netbox-prod/2019-12-01T11-59-15Z_old.tar.gz' },
  ];
  function mockedArchive() {
    const s3 = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const mock = mockClient(s3);
    mock.on(ListObjectsV2Command).resolves({
      Contents: copies.flatMap(({ key }) => [
        { Key: key, Size: 3, LastModified: NOW },
        { Key: manifestKeyFor(key), Size: 10, LastModified: NOW },
      ]),
    });
    for (const { key, createdAt } of copies) {
      const manifest = { formatVersion: 1, target: TARGET, kind: 'netbox-cloud', sourceBackupId: key, objectKey: key, sizeBytes: 3, sha256: '0'.repeat(64), sourceChecksum: null, sourceChecksumAlgorithm: null, sourceChecksumVerified: false, sourceSizeBytes: null, createdAt, copiedAt: createdAt, contentType: 'x', source: {} };
      mock.on(GetObjectCommand, { Key: manifestKeyFor(key) }).resolves({ Body: { transformToString: async () => JSON.stringify(manifest) } } as never);
    }
    mock.on(GetObjectTaggingCommand).resolves({ TagSet: [] });
    const noLock = Object.assign(new Error('none'), { name: 'NoSuchObjectLockConfiguration' });
    mock.on(GetObjectLegalHoldCommand).rejects(noLock);
    mock.on(GetObjectRetentionCommand).rejects(noLock);
    return { s3, mock };
  }
  const base = { bucket: BUCKET, prefix: 'backups/', target: TARGET, policy: { keepLast: 1 }, timezone: 'UTC', dryRun: false, now: NOW } as const;

  test('a failed removal is reported with its error and the copy is left whole for the next prune', async () => {
    // Prepare
    const { s3, mock } = mockedArchive();
    mock.on(DeleteObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    // Act
    const { report } = await pruneArchive({ ...base, s3, objectLock: false });

    // Assess
    expect(report.copies[1]).toMatchObject({ objectKey: copies[1]?.key, decision: 'remove', removal: { done: false, error: expect.stringMatching(/manifest could not be removed.*AccessDenied.*untouched/) } });
    expect(mock.commandCalls(DeleteObjectCommand)).toHaveLength(1);
  });

  test('with Object Lock, a copy whose retention is not over is locked, not removed', async () => {
    // Prepare
    const { s3, mock } = mockedArchive();
    mock.on(GetObjectRetentionCommand, { Key: copies[1]?.key }).resolves({ Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date('2030-02-01T00:00:00Z') } });

    // Act
    const { report } = await pruneArchive({ ...base, s3, objectLock: true });

    // Assess
    expect(report.copies[1]).toMatchObject({ decision: 'locked', reason: expect.stringMatching(/^Object Lock retention until 2030-02-01T00:00:00.000Z/) });
    expect(mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  test('with Object Lock, a legal hold protects; protect sets one on the object and its manifest', async () => {
    // Prepare
    const { s3, mock } = mockedArchive();
    mock.on(GetObjectLegalHoldCommand, { Key: copies[1]?.key }).resolves({ LegalHold: { Status: 'ON' } });
    mock.on(PutObjectLegalHoldCommand).resolves({});
    mock.on(PutObjectTaggingCommand).resolves({});

    // Act
    const { report } = await pruneArchive({ ...base, s3, objectLock: true });
    const { setProtection } = await import('../../functions/archive/prune-protection');
    await setProtection(s3, BUCKET, copies[1]?.key ?? '', true, true);

    // Assess
    expect(report.copies[1]).toMatchObject({ decision: 'protected' });
    expect(mock.commandCalls(PutObjectLegalHoldCommand).map((call) => [call.args[0].input.Key, call.args[0].input.LegalHold?.Status])).toEqual([
      [copies[1]?.key, 'ON'],
      [manifestKeyFor(copies[1]?.key ?? ''), 'ON'],
    ]);
  });
});
