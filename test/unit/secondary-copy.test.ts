import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { copyToArchive } from '../../functions/archive/copier';
import { archiveKeyFor } from '../../functions/archive/manifest';
import { catchUpSecondary, copyToSecondary, NO_SECONDARY_REASON, secondaryCopyStep, type DestinationPlace, type SourcePlace } from '../../functions/archive/secondary-copy';
import { CopyCancelled, InvalidInput, PrimaryCopyMissing, SecondaryCopyVerificationFailed } from '../../functions/shared/errors';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { listKeys, localS3Client, openMultipartUploads, readObject } from '../support/harness';
import { recordRequests, type SentRequest } from '../support/s3-requests';

const PRIMARY_BUCKET = 'primary-archive';
const SECONDARY_BUCKET = 'secondary-archive';
const MIB = 1024 * 1024;
const COPIED_AT = new Date('2026-12-07T20:00:00Z');

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('copyToSecondary and catchUpSecondary between two local stores', () => {
  let directory: string;
  let primaryStore: LocalS3;
  let secondaryStore: LocalS3;
  let primary: SourcePlace;
  let secondaryS3: S3Client;
  let testNumber = 0;
  /** Each test its own secondary prefix, so the tests do not see each other's copies. */
  let secondary: DestinationPlace;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offsite-secondary-copy-'));
    primaryStore = await startLocalS3({ directory: join(directory, 'primary'), buckets: [PRIMARY_BUCKET] });
    secondaryStore = await startLocalS3({ directory: join(directory, 'secondary'), buckets: [SECONDARY_BUCKET] });
    primary = { s3: localS3Client(primaryStore), bucket: PRIMARY_BUCKET, prefix: 'backups/' };
  });

  beforeEach(() => {
    testNumber += 1;
    // A client per test: each test records its own requests.
    secondaryS3 = localS3Client(secondaryStore);
    secondary = { s3: secondaryS3, bucket: SECONDARY_BUCKET, prefix: `copies-${testNumber}/`, objectLock: false };
  });

  afterAll(async () => {
    await Promise.all([primaryStore.stop(), secondaryStore.stop()]);
    await rm(directory, { recursive: true, force: true });
  });

  /** An archived copy in the primary, made by the copier as a backup makes it. */
  async function archived(target: string, createdAt: string, body: Buffer): Promise<string> {
    const objectKey = archiveKeyFor(primary.prefix, target, createdAt, `b-${createdAt}`, '.tar.gz');
    await copyToArchive({
      source: { where: 'test', open: () => Promise.resolve({ body: Readable.from([body]), contentType: 'application/gzip', contentLength: body.length }) },
      expected: { sizeBytes: body.length, checksum: null },
      s3: primary.s3,
      bucket: primary.bucket,
      objectKey,
      describe: { target, kind: 'netbox-cloud', sourceBackupId: `b-${createdAt}`, createdAt, source: {} },
      partSizeBytes: 5 * MIB,
    });
    return objectKey;
  }

  async function readJson(s3: S3Client, bucket: string, key: string): Promise<Record<string, unknown>> {
    return JSON.parse((await readObject(s3, bucket, key)).toString('utf8')) as Record<string, unknown>;
  }

  test('streams the copy into the secondary under its prefix and writes its manifest last, naming where it was copied from', async () => {
    // Prepare: 11 MiB in 5 MiB parts, so the secondary gets a multipart upload.
    const body = randomBytes(11 * MIB);
    const objectKey = await archived('happy', '2026-12-01T02:00:00Z', body);
    const sent: SentRequest[] = [];
    recordRequests(secondaryS3, sent);

    // Act
    const result = await copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT, partSizeBytes: 5 * MIB });

    // Assess
    const secondaryKey = `${secondary.prefix}happy/2026-12-01T02-00-00Z_b-2026-12-01T02-00-00Z.tar.gz`;
    expect(result).toEqual({ bucket: SECONDARY_BUCKET, objectKey: secondaryKey, manifestKey: `${secondaryKey}.manifest.json`, sizeBytes: body.length, sha256: sha256(body), alreadyThere: false });
    expect((await readObject(secondaryS3, SECONDARY_BUCKET, secondaryKey)).equals(body)).toBe(true);
    const primaryManifest = await readJson(primary.s3, PRIMARY_BUCKET, `${objectKey}.manifest.json`);
    expect(await readJson(secondaryS3, SECONDARY_BUCKET, result.manifestKey)).toEqual({
      ...primaryManifest,
      objectKey: secondaryKey,
      copiedAt: COPIED_AT.toISOString(),
      copiedFrom: { bucket: PRIMARY_BUCKET, objectKey },
    });
    const writes = sent.filter((entry) => ['UploadPartCommand', 'CompleteMultipartUploadCommand', 'PutObjectCommand'].includes(entry.operation)).map((entry) => entry.operation);
    expect(writes).toEqual(['UploadPartCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand', 'PutObjectCommand']);
    expect(await openMultipartUploads(secondaryS3, SECONDARY_BUCKET)).toEqual([]);
  });

  test('bytes that differ from the primary manifest fail as SecondaryCopyVerificationFailed: the upload is aborted and nothing is presented', async () => {
    // Prepare: the primary object replaced by other bytes of the same size after its manifest was written.
    const body = randomBytes(11 * MIB);
    const objectKey = await archived('mismatch', '2026-12-01T02:00:00Z', body);
    await primary.s3.send(new PutObjectCommand({ Bucket: PRIMARY_BUCKET, Key: objectKey, Body: randomBytes(body.length) }));

    // Act
    const copying = copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT, partSizeBytes: 5 * MIB });

    // Assess
    await expect(copying).rejects.toThrow(SecondaryCopyVerificationFailed);
    await expect(copying).rejects.toThrow(/sha256 of the primary copy .*mismatch\/.* is [0-9a-f]{64}; its manifest records [0-9a-f]{64}/);
    expect(await listKeys(secondaryS3, SECONDARY_BUCKET, secondary.prefix)).toEqual([]);
    expect(await openMultipartUploads(secondaryS3, SECONDARY_BUCKET)).toEqual([]);
  });

  test('a primary object shorter than its manifest records fails before the upload completes', async () => {
    // Prepare
    const body = randomBytes(2 * MIB);
    const objectKey = await archived('short', '2026-12-01T02:00:00Z', body);
    await primary.s3.send(new PutObjectCommand({ Bucket: PRIMARY_BUCKET, Key: objectKey, Body: body.subarray(0, MIB) }));

    // Act
    const copying = copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT });

    // Assess
    await expect(copying).rejects.toThrow(/ended after 1048576 bytes; its manifest records 2097152/);
    expect(await listKeys(secondaryS3, SECONDARY_BUCKET, secondary.prefix)).toEqual([]);
  });

  test('a locked secondary gets a CRC32 checksum with every part, and Content-MD5 with the manifest', async () => {
    // Prepare
    const objectKey = await archived('locked', '2026-12-01T02:00:00Z', randomBytes(11 * MIB));
    const sent: SentRequest[] = [];
    recordRequests(secondaryS3, sent);

    // Act
    await copyToSecondary({ from: primary, to: { ...secondary, objectLock: true }, objectKey, clock: () => COPIED_AT, partSizeBytes: 5 * MIB });

    // Assess
    const parts = sent.filter((entry) => entry.operation === 'UploadPartCommand' && entry.headers['x-amz-checksum-crc32'] !== undefined);
    expect(parts).toHaveLength(3);
    const manifestPut = sent.filter((entry) => entry.operation === 'PutObjectCommand');
    expect(manifestPut).toHaveLength(1);
    expect(manifestPut[0]?.headers['content-md5']).toBeDefined();
  });

  test('an unlocked S3-compatible secondary gets no checksum headers', async () => {
    // Prepare
    const objectKey = await archived('unlocked', '2026-12-01T02:00:00Z', randomBytes(6 * MIB));
    const sent: SentRequest[] = [];
    recordRequests(secondaryS3, sent);

    // Act
    await copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT, partSizeBytes: 5 * MIB });

    // Assess
    expect(sent.filter((entry) => entry.operation === 'UploadPartCommand').length).toBeGreaterThan(0);
    for (const entry of sent) expect(Object.keys(entry.headers).filter((name) => name.startsWith('x-amz-checksum-'))).toEqual([]);
  });

  test('a second run finds the copy already there (manifest with the same SHA-256) and writes nothing', async () => {
    // Prepare
    const objectKey = await archived('again', '2026-12-01T02:00:00Z', randomBytes(MIB));
    await copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT });
    const sent: SentRequest[] = [];
    recordRequests(secondaryS3, sent);

    // Act
    const again = await copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => new Date('2026-12-08T00:00:00Z') });

    // Assess
    expect(again.alreadyThere).toBe(true);
    expect(sent.map((entry) => entry.operation).filter((operation) => !['GetObjectCommand', 'HeadObjectCommand'].includes(operation))).toEqual([]);
    expect((await readJson(secondaryS3, SECONDARY_BUCKET, again.manifestKey))['copiedAt']).toBe(COPIED_AT.toISOString());
  });

  test('a secondary manifest with another SHA-256 is not taken as the copy: the copy is made again', async () => {
    // Prepare
    const body = randomBytes(MIB);
    const objectKey = await archived('stale', '2026-12-01T02:00:00Z', body);
    const first = await copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT });
    const stale = { ...(await readJson(secondaryS3, SECONDARY_BUCKET, first.manifestKey)), sha256: 'f'.repeat(64) };
    await secondaryS3.send(new PutObjectCommand({ Bucket: SECONDARY_BUCKET, Key: first.manifestKey, Body: JSON.stringify(stale) }));

    // Act
    const again = await copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT });

    // Assess
    expect(again.alreadyThere).toBe(false);
    expect((await readJson(secondaryS3, SECONDARY_BUCKET, again.manifestKey))['sha256']).toBe(sha256(body));
  });

  test('a primary object that is missing fails as PrimaryCopyMissing naming it, and nothing is written', async () => {
    // Prepare
    const objectKey = await archived('missing', '2026-12-01T02:00:00Z', randomBytes(MIB));
    await primary.s3.send(new DeleteObjectCommand({ Bucket: PRIMARY_BUCKET, Key: objectKey }));

    // Act
    const copying = copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT });

    // Assess
    await expect(copying).rejects.toThrow(PrimaryCopyMissing);
    await expect(copying).rejects.toThrow(`s3://${PRIMARY_BUCKET}/${objectKey} is missing`);
    expect(await listKeys(secondaryS3, SECONDARY_BUCKET, secondary.prefix)).toEqual([]);
  });

  test('a copy without a primary manifest fails as PrimaryCopyMissing', async () => {
    // Prepare
    const objectKey = 'backups/nomanifest/2026-12-01T02-00-00Z_b.tar.gz';
    await primary.s3.send(new PutObjectCommand({ Bucket: PRIMARY_BUCKET, Key: objectKey, Body: 'bytes' }));

    // Act
    const copying = copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT });

    // Assess
    await expect(copying).rejects.toThrow(`has no manifest at s3://${PRIMARY_BUCKET}/${objectKey}.manifest.json`);
  });

  test('a SHA-256 other than the one the copy step reported is refused before anything is read', async () => {
    // Prepare
    const objectKey = await archived('reported', '2026-12-01T02:00:00Z', randomBytes(MIB));

    // Act
    const copying = copyToSecondary({ from: primary, to: secondary, objectKey, expectedSha256: '0'.repeat(64), clock: () => COPIED_AT });

    // Assess
    await expect(copying).rejects.toThrow(SecondaryCopyVerificationFailed);
    expect(await listKeys(secondaryS3, SECONDARY_BUCKET, secondary.prefix)).toEqual([]);
  });

  test('the catch-up copies what the secondary lacks newest first, within the byte budget, and the next run takes the rest', async () => {
    // Prepare: four 1 MiB copies; the secondary already holds the oldest.
    const keys = [];
    for (const day of ['01', '02', '03', '04']) keys.push(await archived('catchup', `2026-12-${day}T02:00:00Z`, randomBytes(MIB)));
    await copyToSecondary({ from: primary, to: secondary, objectKey: keys[0] ?? '', clock: () => COPIED_AT });
    const inSecondary = (key: string | undefined): string => `${secondary.prefix}${(key ?? '').slice(primary.prefix.length)}`;

    // Act
    const first = await catchUpSecondary(primary, secondary, ['catchup'], () => COPIED_AT, { budgetBytes: 2 * MIB });
    const second = await catchUpSecondary(primary, secondary, ['catchup'], () => COPIED_AT, { budgetBytes: 2 * MIB });
    const third = await catchUpSecondary(primary, secondary, ['catchup'], () => COPIED_AT, { budgetBytes: 2 * MIB });

    // Assess
    expect(first).toEqual({
      copied: [
        { target: 'catchup', objectKey: inSecondary(keys[3]), sizeBytes: MIB },
        { target: 'catchup', objectKey: inSecondary(keys[2]), sizeBytes: MIB },
      ],
      bytes: 2 * MIB,
      remaining: 1,
      failed: [],
    });
    expect(second).toEqual({ copied: [{ target: 'catchup', objectKey: inSecondary(keys[1]), sizeBytes: MIB }], bytes: MIB, remaining: 0, failed: [] });
    expect(third).toEqual({ copied: [], bytes: 0, remaining: 0, failed: [] });
  });

  test('the catch-up takes no further copy once the deadline has passed (the first is always taken)', async () => {
    // Prepare
    const older = await archived('deadline', '2026-12-01T02:00:00Z', randomBytes(MIB));
    const newer = await archived('deadline', '2026-12-02T02:00:00Z', randomBytes(MIB));
    const past = new Date(COPIED_AT.getTime() - 1);

    // Act
    const summary = await catchUpSecondary(primary, secondary, ['deadline'], () => COPIED_AT, { budgetBytes: 100 * MIB, deadline: past });

    // Assess
    expect(summary.copied.map((copy) => copy.objectKey)).toEqual([`${secondary.prefix}${newer.slice(primary.prefix.length)}`]);
    expect(summary.remaining).toBe(1);
    expect(older).not.toBe(newer);
  });

  test('a copy the catch-up cannot make is reported, and the copies after it are still made', async () => {
    // Prepare: the newer copy's primary object is gone; the older one is fine.
    const older = await archived('failing', '2026-12-01T02:00:00Z', randomBytes(MIB));
    const newer = await archived('failing', '2026-12-02T02:00:00Z', randomBytes(MIB));
    await primary.s3.send(new DeleteObjectCommand({ Bucket: PRIMARY_BUCKET, Key: newer }));

    // Act
    const summary = await catchUpSecondary(primary, secondary, ['failing'], () => COPIED_AT, { budgetBytes: 100 * MIB });

    // Assess
    expect(summary.failed).toEqual([{ target: 'failing', objectKey: newer, error: expect.stringMatching(/^PrimaryCopyMissing: .* is missing/) as unknown }]);
    expect(summary.copied.map((copy) => copy.objectKey)).toEqual([`${secondary.prefix}${older.slice(primary.prefix.length)}`]);
    expect(summary.remaining).toBe(0);
  });

  test('a cancelled copy stops, aborts its multipart upload and leaves nothing in the secondary', async () => {
    // Prepare: cancelled as soon as the first bytes have streamed.
    const objectKey = await archived('cancelled', '2026-12-01T02:00:00Z', randomBytes(16 * MIB));
    const cancel = new AbortController();

    // Act
    const copying = copyToSecondary({ from: primary, to: secondary, objectKey, clock: () => COPIED_AT, partSizeBytes: 5 * MIB, signal: cancel.signal, onProgress: () => cancel.abort() });

    // Assess
    await expect(copying).rejects.toThrow(CopyCancelled);
    expect(await listKeys(secondaryS3, SECONDARY_BUCKET, secondary.prefix)).toEqual([]);
    expect(await openMultipartUploads(secondaryS3, SECONDARY_BUCKET)).toEqual([]);
  });

  describe('the CopyToSecondary step', () => {
    test('without a secondary it copies nothing and says why', async () => {
      // Act
      const result = await secondaryCopyStep(primary, undefined, 'any', { objectKey: 'backups/any/x.backup', sha256: '0'.repeat(64) }, () => COPIED_AT);

      // Assess
      expect(result).toEqual({ secondary: null, reason: NO_SECONDARY_REASON });
    });

    test("a key outside the target's copies in the primary is refused as InvalidInput naming the field", async () => {
      // Act
      const stepping = secondaryCopyStep(primary, secondary, 'netbox', { objectKey: 'backups/other/x.backup', sha256: '0'.repeat(64) }, () => COPIED_AT);

      // Assess
      await expect(stepping).rejects.toThrow(InvalidInput);
      await expect(stepping).rejects.toThrow('archive.objectKey: expected a key of netbox\'s copies in the primary (starting with "backups/netbox/"), got "backups/other/x.backup"');
    });

    test('with a secondary it returns where the verified second copy is', async () => {
      // Prepare
      const body = randomBytes(MIB);
      const objectKey = await archived('step', '2026-12-01T02:00:00Z', body);

      // Act
      const result = await secondaryCopyStep(primary, secondary, 'step', { objectKey, sha256: sha256(body) }, () => COPIED_AT);

      // Assess
      const secondaryKey = `${secondary.prefix}${objectKey.slice(primary.prefix.length)}`;
      expect(result).toEqual({ secondary: expect.objectContaining({ objectKey: secondaryKey, sha256: sha256(body), url: `s3://${SECONDARY_BUCKET}/${secondaryKey}` }) as unknown });
    });
  });
});
