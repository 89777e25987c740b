// offsite against a store that enforces Object Lock: moto's S3 server (python3 -m moto.server,
// on these machines' image), a bucket created with Object Lock, versioning and a GOVERNANCE
// default retention. moto refuses a PutObject into it that carries neither Content-MD5 nor
// an x-amz-checksum-* header, keeps retention and legal holds, and refuses to delete a
// locked version. Every command that writes into the archive runs here, and every write it
// sent is recorded and checked (the last test enumerates them). The secondary archive is a
// second bucket there, locked the same way: every second copy must reach it with a checksum.
//
// moto's gaps, worked around here and not in offsite:
// - GetObjectRetention answers with the object's bytes instead of the retention XML (offsite
//   would then read every copy as protected, which is safe but hides `locked`): the archive
//   client of this process answers it from HeadObject's x-amz-object-lock-* headers instead.
// - An object completed from a multipart upload gets no default retention: after each
//   backup the test gives such objects the bucket's default retention, as S3 would have.
// - Part checksums are not checked: the recorded requests show every part carried CRC32.
// - An empty TagSet in PutObjectTagging crashes it: offsite no longer sends one
//   (DeleteObjectTagging), so nothing to work around.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectLegalHoldCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { auditCommand } from '../../bin/cli/audit';
import { backupCommand, listCommand, useConfig, type CliIo } from '../../bin/cli/commands';
import { drillCommand } from '../../bin/cli/drill';
import { protectCommand } from '../../bin/cli/protect';
import { pruneCommand } from '../../bin/cli/prune';
import { statusCommand } from '../../bin/cli/status';
import { verifyCommand } from '../../bin/cli/verify';
import { startSandboxEnvironment, type SandboxEnvironment } from '../../bin/sandbox/sandbox';
import { SANDBOX_PROXBOX_TARGET } from '../../bin/sandbox/netbox-proxbox/sandbox-round';
import { SANDBOX_VPS_TARGET } from '../../bin/sandbox/vps/sandbox-round';
import { partSizeFor } from '../../functions/archive/copier';
import { verificationKeyFor } from '../../functions/archive/verify-records';
import type { OffsiteConfig } from '../../functions/config/schema';
import { archiveClient } from '../../functions/runtime/archive-client';
import { SANDBOX_APPLIANCE_TARGET } from '../../bin/sandbox/appliance/sandbox-round';
import { SANDBOX_NETBOX_TARGET } from '../../bin/sandbox/netbox-cloud/sandbox-round';

const BUCKET = 'offsite-locked';
const SECONDARY_BUCKET = 'offsite-locked-second';
const SECONDARY_PREFIX = 'copies/';
const MIB = 1024 * 1024;
/** A NetBox Cloud backup big enough to go up as a multipart upload of several parts. */
const NETBOX_BACKUP_BYTES = 11 * MIB;
const NETBOX_BACKUP_PARTS = Math.ceil(NETBOX_BACKUP_BYTES / partSizeFor(NETBOX_BACKUP_BYTES));

interface Write {
  readonly operation: string;
  readonly key: string;
  readonly checksummed: boolean;
}

const WRITES = new Set(['PutObjectCommand', 'UploadPartCommand', 'PutObjectLegalHoldCommand', 'PutObjectTaggingCommand', 'PutObjectRetentionCommand']);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Until moto answers HTTP, or it exits, or 60 s have passed. */
async function motoReady(url: string, moto: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (moto.exitCode !== null) throw new Error(`moto exited with ${moto.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`moto did not answer on ${url} within 60 s`);
}

function captureIo(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (line) => lines.push(line), err: (line) => errors.push(line), errStream: process.stderr };
}

/** moto's GetObjectRetention answers with the object's bytes: answer it from HeadObject instead (see the top of this file). */
function retentionFromHead(s3: S3Client): void {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'GetObjectRetentionCommand') return next(args);
      const { Bucket, Key } = args.input as { Bucket: string; Key: string };
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
      if (!head.ObjectLockMode) throw Object.assign(new Error('The specified object does not have a ObjectLock configuration'), { name: 'NoSuchObjectLockConfiguration' });
      return { output: { $metadata: {}, Retention: { Mode: head.ObjectLockMode, RetainUntilDate: head.ObjectLockRetainUntilDate } }, response: {} };
    },
    { step: 'initialize', name: 'motoRetentionFromHead', priority: 'high' },
  );
}

/** Every write this process sends to the archive, and whether it carried a checksum. */
function recordWrites(s3: S3Client, writes: Write[]): void {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName);
      if (WRITES.has(operation)) {
        const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
        const checksummed = Object.keys(headers).some((name) => name.toLowerCase() === 'content-md5' || name.toLowerCase().startsWith('x-amz-checksum-'));
        writes.push({ operation, key: String((args.input as { Key?: unknown }).Key ?? ''), checksummed });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordArchiveWrites', priority: 'low' },
  );
}

describe('offsite against moto with Object Lock on', () => {
  let moto: ChildProcess;
  let sandbox: SandboxEnvironment;
  let config: OffsiteConfig;
  let s3: S3Client;
  const writes: Write[] = [];

  /** moto leaves objects completed from a multipart upload without the default retention: give them the bucket's, as S3 would have. */
  const retainMultipartObjects = async (): Promise<void> => {
    for (const bucket of [BUCKET, SECONDARY_BUCKET]) {
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      for (const version of versions.Versions ?? []) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: version.Key, VersionId: version.VersionId }));
        if (head.ObjectLockMode) continue;
        await s3.send(
          new PutObjectRetentionCommand({ Bucket: bucket, Key: version.Key, VersionId: version.VersionId, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 24 * 60 * 60 * 1000) } }),
        );
      }
    }
  };

  const copiesOf = async (target: string): Promise<string[]> => {
    const listed = await listCommand(config, target, captureIo(), { json: true });
    return listed.listing.copies.map((copy) => copy.manifest.objectKey);
  };

  const versionCount = async (): Promise<{ versions: number; deleteMarkers: number }> => {
    const answer = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET }));
    return { versions: answer.Versions?.length ?? 0, deleteMarkers: answer.DeleteMarkers?.length ?? 0 };
  };

  beforeAll(async () => {
    const port = await freePort();
    moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    const endpoint = `http://127.0.0.1:${port}`;
    await motoReady(endpoint, moto);

    // 11 MiB NetBox Cloud backups: a multipart upload of several parts (NETBOX_BACKUP_PARTS).
    sandbox = await startSandboxEnvironment({
      netboxCloud: { backupRequestDurationMs: 300, retrievalDurationMs: 200, restoreDurationMs: 300, redeployDelayMs: 100, backupSizeBytes: NETBOX_BACKUP_BYTES },
      appliance: { backupDurationMs: 300, rebootWindowMs: 1500 },
      poll: { initialSeconds: 1, maxSeconds: 1, timeoutMinutes: 1 },
    });
    const sandboxConfig = useConfig(sandbox.configPath);
    const lockedConfig = {
      ...sandboxConfig,
      archive: {
        bucket: BUCKET,
        prefix: 'backups/',
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        objectLock: { mode: 'GOVERNANCE', days: 1 },
        // Reached with the same moto keys, so its client is the recorded one too.
        secondary: { bucket: SECONDARY_BUCKET, prefix: SECONDARY_PREFIX, region: 'us-east-1', endpoint, forcePathStyle: true, objectLock: { mode: 'GOVERNANCE', days: 1 } },
      },
      targets: sandboxConfig.targets.map((target) => (target.name === SANDBOX_NETBOX_TARGET ? { ...target, retention: { keepLast: 1 } } : target)),
    };
    const configPath = join(sandbox.directory, 'offsite.locked.config.json');
    await writeFile(configPath, `${JSON.stringify(lockedConfig, null, 2)}\n`);
    // The handlers run in this process, reading the configuration and credentials from the environment.
    Object.assign(process.env, sandbox.env, { OFFSITE_CONFIG: configPath, AWS_ACCESS_KEY_ID: 'moto', AWS_SECRET_ACCESS_KEY: 'moto' });
    config = useConfig(configPath);

    s3 = archiveClient(config.archive);
    for (const bucket of [BUCKET, SECONDARY_BUCKET]) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
      await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
    }
    retentionFromHead(s3);
    recordWrites(s3, writes);
  }, 180_000);

  afterAll(async () => {
    await sandbox?.stop();
    if (moto?.pid !== undefined && moto.exitCode === null) {
      const exited = new Promise((resolve) => moto.once('exit', resolve));
      process.kill(moto.pid, 'SIGTERM');
      await exited;
    }
  });

  test('backups of each archiving kind are archived, verified and retained', async () => {
    // Act
    const first = await backupCommand(config, SANDBOX_NETBOX_TARGET, captureIo());
    await retainMultipartObjects();
    const second = await backupCommand(config, SANDBOX_NETBOX_TARGET, captureIo());
    await retainMultipartObjects();
    const appliance = await backupCommand(config, SANDBOX_APPLIANCE_TARGET, captureIo());
    const vps = await backupCommand(config, SANDBOX_VPS_TARGET, captureIo());

    // Assess
    expect([first.exitCode, second.exitCode, appliance.exitCode, vps.exitCode]).toEqual([0, 0, 0, 0]);
    for (const key of [first.archived?.objectKey, first.archived?.manifestKey, appliance.archived?.objectKey, appliance.archived?.manifestKey]) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ObjectLockMode).toBe('GOVERNANCE');
    }
    expect(writes.filter((write) => write.operation === 'UploadPartCommand' && write.key === first.archived?.objectKey)).toHaveLength(NETBOX_BACKUP_PARTS);
    expect(NETBOX_BACKUP_PARTS).toBeGreaterThan(1);
  });

  test('every archived copy has its second copy in the locked secondary, and its manifest there is locked too', async () => {
    // Act
    const copies = [...(await copiesOf(SANDBOX_NETBOX_TARGET)), ...(await copiesOf(SANDBOX_APPLIANCE_TARGET))];

    // Assess
    expect(copies).toHaveLength(3);
    for (const key of copies) {
      const second = `${SECONDARY_PREFIX}${key.slice(config.archive.prefix.length)}`;
      const [object, manifest] = await Promise.all([
        s3.send(new HeadObjectCommand({ Bucket: SECONDARY_BUCKET, Key: second })),
        s3.send(new HeadObjectCommand({ Bucket: SECONDARY_BUCKET, Key: `${second}.manifest.json` })),
      ]);
      expect([object.ObjectLockMode, manifest.ObjectLockMode]).toEqual(['GOVERNANCE', 'GOVERNANCE']);
    }
  });

  test('list and status read the locked archive', async () => {
    // Act
    const netbox = await copiesOf(SANDBOX_NETBOX_TARGET);
    const appliance = await copiesOf(SANDBOX_APPLIANCE_TARGET);
    const status = await statusCommand(config, captureIo(), { json: true });

    // Assess: the backup's own prune (keepLast 1) could not remove the older, locked copy.
    expect(netbox).toHaveLength(2);
    expect(appliance).toHaveLength(1);
    expect(status.exitCode).toBe(0);
    expect(status.targets.find((target) => target.name === SANDBOX_NETBOX_TARGET)).toMatchObject({ copies: 2 });
  });

  test('verify reads every copy back and writes its verification record into the locked bucket', async () => {
    // Act
    const io = captureIo();
    const netbox = await verifyCommand(config, SANDBOX_NETBOX_TARGET, io, { json: true });
    const appliance = await verifyCommand(config, SANDBOX_APPLIANCE_TARGET, captureIo());

    // Assess
    expect([netbox.exitCode, appliance.exitCode]).toEqual([0, 0]);
    expect(io.lines.join('\n')).toMatch(/"ok"/);
    const record = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: verificationKeyFor(config.archive.prefix, SANDBOX_NETBOX_TARGET) }));
    expect(record.ObjectLockMode).toBe('GOVERNANCE');
  });

  test('protect puts a legal hold on the copy and its manifest; prune --dry-run says protected, and locked once unprotected', async () => {
    // Prepare
    const [, older] = await copiesOf(SANDBOX_NETBOX_TARGET);
    if (!older) throw new Error('two copies expected');

    // Act
    const protectedRun = await protectCommand(config, SANDBOX_NETBOX_TARGET, older, captureIo(), { protect: true });
    const hold = await s3.send(new GetObjectLegalHoldCommand({ Bucket: BUCKET, Key: `${older}.manifest.json` }));
    const whileProtected = await pruneCommand(config, SANDBOX_NETBOX_TARGET, captureIo(), { dryRun: true, json: true });
    const unprotectedRun = await protectCommand(config, SANDBOX_NETBOX_TARGET, older, captureIo(), { protect: false });
    const released = await s3.send(new GetObjectLegalHoldCommand({ Bucket: BUCKET, Key: older }));
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: older }));
    const afterwards = await pruneCommand(config, SANDBOX_NETBOX_TARGET, captureIo(), { dryRun: true, json: true });

    // Assess
    expect([protectedRun.exitCode, unprotectedRun.exitCode]).toEqual([0, 0]);
    expect(hold.LegalHold?.Status).toBe('ON');
    expect(released.LegalHold?.Status).toBe('OFF');
    expect(tags.TagSet ?? []).toEqual([]);
    expect(whileProtected.report.copies.map((copy) => copy.decision)).toEqual(['keep', 'protected']);
    expect(afterwards.report.copies.map((copy) => copy.decision)).toEqual(['keep', 'locked']);
    expect(afterwards.report.copies[1]?.reason).toMatch(/^Object Lock retention until /);
  });

  test('a real prune removes no locked version', async () => {
    // Prepare
    const before = await versionCount();

    // Act
    const pruned = await pruneCommand(config, SANDBOX_NETBOX_TARGET, captureIo(), { json: true });

    // Assess
    expect(pruned.exitCode).toBe(0);
    expect(pruned.report.copies.map((copy) => copy.decision)).toEqual(['keep', 'locked']);
    expect(await versionCount()).toEqual(before);
    expect(await copiesOf(SANDBOX_NETBOX_TARGET)).toHaveLength(2);
  });

  test('a drill restores the newest copy and writes its report into the locked bucket', async () => {
    // Act
    const drill = await drillCommand(config, SANDBOX_NETBOX_TARGET, captureIo(), { json: true });

    // Assess
    expect(drill.exitCode).toBe(0);
    expect(drill.report).toMatchObject({ outcome: 'passed' });
    expect(writes.some((write) => write.operation === 'PutObjectCommand' && write.key.startsWith(`backups/${SANDBOX_NETBOX_TARGET}/drills/`))).toBe(true);
  });

  test('an audit writes its work objects and its report into the locked bucket', async () => {
    // Act
    const audit = await auditCommand(config, SANDBOX_PROXBOX_TARGET, captureIo(), { json: true });

    // Assess: the sandbox's estate has gaps (exit 1 with a report); what matters here is that the report was written.
    expect(audit.report).toBeDefined();
    expect([0, 1]).toContain(audit.exitCode);
  });

  test('every write path of those commands wrote into the locked bucket with a checksum', () => {
    // Prepare: what each write path writes, by key or operation.
    const prefix = config.archive.prefix;
    const paths: Record<string, (write: Write) => boolean> = {
      'copy, streamed in parts': (write) => write.operation === 'UploadPartCommand',
      'copy, in one request': (write) => write.operation === 'PutObjectCommand' && write.key.startsWith(`${prefix}${SANDBOX_APPLIANCE_TARGET}/`) && !write.key.endsWith('.manifest.json'),
      manifest: (write) => write.operation === 'PutObjectCommand' && write.key.startsWith(`${prefix}${SANDBOX_NETBOX_TARGET}/`) && write.key.endsWith('.manifest.json'),
      'catalogue record': (write) => write.operation === 'PutObjectCommand' && write.key.startsWith(`${prefix}${SANDBOX_VPS_TARGET}/`) && write.key.endsWith('.manifest.json'),
      'verification record': (write) => write.key === verificationKeyFor(prefix, SANDBOX_NETBOX_TARGET),
      'drill report': (write) => write.key.startsWith(`${prefix}${SANDBOX_NETBOX_TARGET}/drills/`),
      'audit work object': (write) => write.key.startsWith(`${prefix}${SANDBOX_PROXBOX_TARGET}/audit/work/`),
      'audit report': (write) => write.key.startsWith(`${prefix}${SANDBOX_PROXBOX_TARGET}/audit/`) && !write.key.includes('/audit/work/'),
      'legal hold': (write) => write.operation === 'PutObjectLegalHoldCommand',
      'second copy, streamed in parts': (write) => write.operation === 'UploadPartCommand' && write.key.startsWith(SECONDARY_PREFIX),
      'second copy, in one request': (write) => write.operation === 'PutObjectCommand' && write.key.startsWith(`${SECONDARY_PREFIX}${SANDBOX_APPLIANCE_TARGET}/`) && !write.key.endsWith('.manifest.json'),
      "second copy's manifest": (write) => write.operation === 'PutObjectCommand' && write.key.startsWith(SECONDARY_PREFIX) && write.key.endsWith('.manifest.json'),
      "the secondary's verification record": (write) => write.key === verificationKeyFor(SECONDARY_PREFIX, SANDBOX_NETBOX_TARGET),
    };

    // Act
    const missing = Object.entries(paths).filter(([, matches]) => !writes.some(matches)).map(([name]) => name);
    const unchecked = writes.filter((write) => !write.checksummed && write.operation !== 'PutObjectRetentionCommand').map((write) => `${write.operation} ${write.key}`);

    // Assess
    expect(missing).toEqual([]);
    expect(unchecked).toEqual([]);
  });
});
