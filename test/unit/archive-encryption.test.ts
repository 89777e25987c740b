// The archive under the user's own KMS key (archive.kms): every write into a place with a
// key asks S3 for SSE-KMS with that key and bucket keys on; a place without one sends no
// encryption header, so the bucket's default (SSE-S3) applies as before.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { archiveWriter } from '../../functions/archive/archive-writer';
import { copyToArchive, type CopyRequest } from '../../functions/archive/copier';
import { copyTargetBackup } from '../../functions/archive/copy-handler';
import { copyToSecondary } from '../../functions/archive/secondary-copy';
import { ARCHIVE_KMS_KEY_ENV, encryptionParams } from '../../functions/archive/places';
import { parseConfig } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { archiveClient } from '../../functions/runtime/archive-client';
import { archiveLocation } from '../../functions/kinds/vps/handlers/clients';
import { writeRecord } from '../../functions/kinds/vps/records';
import type { VpsTarget } from '../../functions/kinds/vps/config';
import { localStoreForSuite } from '../support/local-store';
import { localS3Client } from '../support/harness';
import { chunkedCopyRequest } from '../support/copy-request';
import { recordRequests, type SentRequest } from '../support/s3-requests';

const BUCKET = 'archive-encryption-test';
const KEY_ARN = 'arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const SECONDARY_BUCKET = 'archive-encryption-secondary';
const SECONDARY_KEY_ARN = 'arn:aws:kms:eu-west-1:444455556666:key/abcd1234-ab12-cd34-ef56-0987654321ab';
const MIB = 1024 * 1024;

/** The writes that create an object or its upload: what S3 applies the encryption of. */
const CREATING = ['PutObjectCommand', 'CreateMultipartUploadCommand'];

function encryptionHeaders(request: SentRequest): Record<string, string | undefined> {
  return {
    sse: request.headers['x-amz-server-side-encryption'],
    keyId: request.headers['x-amz-server-side-encryption-aws-kms-key-id'],
    bucketKey: request.headers['x-amz-server-side-encryption-bucket-key-enabled'],
  };
}

describe('writes into a place with its own KMS key', () => {
  const local = localStoreForSuite('offsite-archive-encryption-', [BUCKET]);

  function recordingClient(): { s3: S3Client; sent: SentRequest[] } {
    const s3 = localS3Client(local.store);
    const sent: SentRequest[] = [];
    recordRequests(s3, sent);
    return { s3, sent };
  }

  const copyRequest = (s3: S3Client, key: string, body: Buffer, extra: Partial<CopyRequest> = {}): CopyRequest => chunkedCopyRequest(s3, BUCKET, key, body, extra);

  test('a document written for a place with a key asks for SSE-KMS with that key and a bucket key', async () => {
    // Prepare
    const { s3, sent } = recordingClient();

    // Act
    await archiveWriter(s3, BUCKET, { kmsKeyArn: KEY_ARN }).putJson('t/doc.json', { formatVersion: 1 });
    await archiveWriter(s3, BUCKET, encryptionParams({ kmsKeyArn: KEY_ARN })).putDocument('t/doc.txt', 'text', 'text/plain');

    // Assess
    const puts = sent.filter((request) => request.operation === 'PutObjectCommand');
    expect(puts.map(encryptionHeaders)).toEqual([
      { sse: 'aws:kms', keyId: KEY_ARN, bucketKey: 'true' },
      { sse: 'aws:kms', keyId: KEY_ARN, bucketKey: 'true' },
    ]);
  });

  test('a document written without a key, or for a place without one, sends no encryption header', async () => {
    // Prepare
    const { s3, sent } = recordingClient();

    // Act
    await archiveWriter(s3, BUCKET).putJson('t/plain.json', { formatVersion: 1 });
    await archiveWriter(s3, BUCKET, { kmsKeyArn: undefined }).putJson('t/plain-place.json', { formatVersion: 1 });

    // Assess
    const puts = sent.filter((request) => request.operation === 'PutObjectCommand');
    expect(puts.map(encryptionHeaders)).toEqual([
      { sse: undefined, keyId: undefined, bucketKey: undefined },
      { sse: undefined, keyId: undefined, bucketKey: undefined },
    ]);
  });

  test('a streamed copy asks for SSE-KMS when it creates the object: the single PutObject, the multipart upload, and the manifest', async () => {
    // Prepare
    const { s3, sent } = recordingClient();
    const encryption = encryptionParams({ kmsKeyArn: KEY_ARN });

    // Act
    await copyToArchive(copyRequest(s3, 't/small.backup', randomBytes(256 * 1024), { encryption }));
    await copyToArchive(copyRequest(s3, 't/large.backup', randomBytes(11 * MIB), { encryption }));

    // Assess
    const creating = sent.filter((request) => CREATING.includes(request.operation));
    expect(creating.map((request) => request.operation)).toEqual(['PutObjectCommand', 'PutObjectCommand', 'CreateMultipartUploadCommand', 'PutObjectCommand']);
    for (const request of creating) expect(encryptionHeaders(request)).toEqual({ sse: 'aws:kms', keyId: KEY_ARN, bucketKey: 'true' });
    // S3 takes the encryption of a multipart object from its creation; the parts carry none.
    const parts = sent.filter((request) => request.operation === 'UploadPartCommand');
    expect(parts.length).toBe(3);
    for (const part of parts) expect(encryptionHeaders(part).sse).toBeUndefined();
  });

  test('a streamed copy without a key sends no encryption header', async () => {
    // Prepare
    const { s3, sent } = recordingClient();

    // Act
    await copyToArchive(copyRequest(s3, 't/plain-small.backup', randomBytes(256 * 1024)));
    await copyToArchive(copyRequest(s3, 't/plain-large.backup', randomBytes(11 * MIB), { encryption: encryptionParams({ kmsKeyArn: undefined }) }));

    // Assess
    const creating = sent.filter((request) => CREATING.includes(request.operation));
    expect(creating.length).toBe(4);
    for (const request of creating) expect(encryptionHeaders(request).sse).toBeUndefined();
  });
});

describe('the second copy under the secondary key', () => {
  const local = localStoreForSuite('offsite-secondary-encryption-', [BUCKET, SECONDARY_BUCKET]);

  test("a copy into a secondary with a key asks for SSE-KMS under the secondary's key for its object and its manifest", async () => {
    // Prepare
    const s3 = localS3Client(local.store);
    const bytes = randomBytes(11 * MIB);
    await copyToArchive({
      source: { where: 'test', open: () => Promise.resolve({ body: Readable.from([bytes]), contentType: 'application/gzip', contentLength: bytes.length }) },
      expected: { sizeBytes: bytes.length, checksum: createHash('sha256').update(bytes).digest('hex') },
      s3,
      bucket: BUCKET,
      objectKey: 'backups/t/2026-03-23T01-17-10Z_b-1.tar.gz',
      describe: { target: 't', kind: 'netbox-cloud', sourceBackupId: 'b-1', createdAt: '2026-03-23T01:17:10Z', source: {} },
      partSizeBytes: 5 * MIB,
    });
    const secondaryClient = localS3Client(local.store);
    const sent: SentRequest[] = [];
    recordRequests(secondaryClient, sent);

    // Act
    await copyToSecondary({
      from: { s3, bucket: BUCKET, prefix: 'backups/' },
      to: { s3: secondaryClient, bucket: SECONDARY_BUCKET, prefix: 'copies/', objectLock: false, kmsKeyArn: SECONDARY_KEY_ARN },
      objectKey: 'backups/t/2026-03-23T01-17-10Z_b-1.tar.gz',
      clock: () => new Date('2026-03-23T02:00:00Z'),
      partSizeBytes: 5 * MIB,
    });

    // Assess
    const creating = sent.filter((request) => CREATING.includes(request.operation));
    expect(creating.map((request) => request.operation)).toEqual(['CreateMultipartUploadCommand', 'PutObjectCommand']);
    for (const request of creating) expect(encryptionHeaders(request)).toEqual({ sse: 'aws:kms', keyId: SECONDARY_KEY_ARN, bucketKey: 'true' });
  });
});

describe('the writers of the primary pass its key', () => {
  const local = localStoreForSuite('offsite-archive-encryption-callers-', [BUCKET]);
  const savedEnv = { ...process.env };
  /** What the configuration's archive client sends: one client per store, shared with the code under test. */
  const sent: SentRequest[] = [];

  beforeAll(() => {
    // The archive client takes the default credential chain, as a function's role does.
    process.env.AWS_ACCESS_KEY_ID = local.store.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = local.store.secretAccessKey;
    recordRequests(archiveClient({ region: local.store.region, endpoint: local.store.endpoint, forcePathStyle: true }), sent);
  });

  beforeEach(() => {
    sent.length = 0;
  });

  afterAll(() => {
    process.env = savedEnv;
  });

  function configWith(kms: string): OffsiteConfig {
    return parseConfig(
      {
        archive: { bucket: BUCKET, prefix: 'backups/', region: local.store.region, endpoint: local.store.endpoint, forcePathStyle: true, kms },
        targets: [
          { name: 'nb', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'o', instanceId: 'nb-1', credentials: { env: 'NB_TOKEN' } },
          { name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 12345, credentials: { env: 'VPS_TOKEN' } },
        ],
      },
      'test config',
    );
  }

  test("a kind's copy into the archive is written under the stack-created key the function finds in its environment", async () => {
    // Prepare
    const config = configWith('create');
    process.env[ARCHIVE_KMS_KEY_ENV] = KEY_ARN;
    const body = randomBytes(64 * 1024);
    const prepare = (): Promise<{ source: CopyRequest['source']; expected: CopyRequest['expected']; extension: string; describe: CopyRequest['describe'] }> =>
      Promise.resolve({
        source: { where: 'test', open: () => Promise.resolve({ body: Readable.from([body]), contentType: 'application/gzip', contentLength: body.length }) },
        expected: { sizeBytes: body.length, checksum: createHash('sha256').update(body).digest('hex') },
        extension: '.backup',
        describe: { target: 'nb', kind: 'netbox-cloud', sourceBackupId: 'b-1', createdAt: '2026-03-23T01:17:10Z', source: {} },
      });

    // Act
    await copyTargetBackup(config, 'netbox-cloud', 'nb', {}, prepare);

    // Assess
    const creating = sent.filter((request) => CREATING.includes(request.operation));
    expect(creating.map((request) => request.operation)).toEqual(['PutObjectCommand', 'PutObjectCommand']);
    for (const request of creating) expect(encryptionHeaders(request)).toEqual({ sse: 'aws:kms', keyId: KEY_ARN, bucketKey: 'true' });
  });

  test("a VPS backup's record is written under the configured key", async () => {
    // Prepare
    const otherKey = KEY_ARN.replace(/key\/.*/, 'key/11111111-2222-3333-4444-555555555555');
    const config = configWith(otherKey);
    const target = config.targets.find((candidate) => candidate.name === 'web-01') as VpsTarget;
    const facts = { backupId: 7, backupType: 'snapshot', providerStatus: 'available', sizeMb: 10, createdAt: '2026-03-23T01:17:10Z', expiresAt: null, description: null, serverName: 'web-01' };

    // Act
    await writeRecord(archiveLocation(config), target, facts, () => new Date('2026-03-23T02:00:00Z'));

    // Assess
    const puts = sent.filter((request) => request.operation === 'PutObjectCommand');
    expect(puts.map(encryptionHeaders)).toEqual([{ sse: 'aws:kms', keyId: otherKey, bucketKey: 'true' }]);
  });
});
