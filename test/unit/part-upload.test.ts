import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { copyToArchive, type CopyRequest } from '../../functions/archive/copier';
import { PartUpload, crc32Base64, partChecksum, payloadCanGoUnsigned } from '../../functions/archive/part-upload';
import { localStoreForSuite } from '../support/local-store';
import { listKeys, localS3Client, openMultipartUploads, readObject } from '../support/harness';
import { chunkedCopyRequest } from '../support/copy-request';
import { recordRequests, type SentRequest } from '../support/s3-requests';

const BUCKET = 'part-upload-test';
const MIB = 1024 * 1024;

/** Holds every UploadPart until release() and counts those held; `reached(n)` resolves once n are held at the same time. */
function holdParts(s3: S3Client): { release: () => void; reached: (count: number) => Promise<void>; readonly most: () => number } {
  let held = 0;
  let most = 0;
  let opened: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => (opened = resolve));
  const waiters: { count: number; resolve: () => void }[] = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'UploadPartCommand') return next(args);
      held += 1;
      most = Math.max(most, held);
      for (const waiter of waiters.filter((entry) => held >= entry.count)) waiter.resolve();
      await gate;
      held -= 1;
      return next(args);
    },
    { step: 'initialize', name: 'holdParts' },
  );
  return {
    release: () => opened?.(),
    reached: (count) => (held >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    most: () => most,
  };
}

describe('PartUpload', () => {
  const local = localStoreForSuite('offsite-part-upload-', [BUCKET]);

  const copyRequest = (s3: S3Client, key: string, body: Buffer, extra: Partial<CopyRequest> = {}): CopyRequest => chunkedCopyRequest(s3, BUCKET, key, body, extra);

  test('sends the parts of a copy to a loopback store as UNSIGNED-PAYLOAD, so the SDK does not hash them again', async () => {
    // Prepare
    const s3 = localS3Client(local.store);
    const sent: SentRequest[] = [];
    recordRequests(s3, sent);
    const body = randomBytes(11 * MIB);

    // Act
    await copyToArchive(copyRequest(s3, 't/unsigned.backup', body));

    // Assess: three parts, none signed with a payload hash; the bytes are intact.
    const parts = sent.filter((entry) => entry.operation === 'UploadPartCommand');
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect((await readObject(s3, BUCKET, 't/unsigned.backup')).equals(body)).toBe(true);
  });

  test('with a checksum, a single-request copy and every part name their algorithm, which an Object Lock bucket requires (x-amz-sdk-checksum-algorithm)', async () => {
    // Prepare
    const s3 = localS3Client(local.store);
    const sent: SentRequest[] = [];
    recordRequests(s3, sent);
    const small = randomBytes(256 * 1024);
    const large = randomBytes(11 * MIB);

    // Act
    await copyToArchive(copyRequest(s3, 't/locked-small.backup', small, { checksumAlgorithm: 'CRC32' }));
    await copyToArchive(copyRequest(s3, 't/locked-large.backup', large, { checksumAlgorithm: 'CRC32' }));

    // Assess
    const writes = sent.filter((entry) => entry.operation === 'UploadPartCommand' || (entry.operation === 'PutObjectCommand' && !entry.headers['content-type']?.includes('json')));
    expect(writes.map((entry) => entry.operation)).toEqual(['PutObjectCommand', 'UploadPartCommand', 'UploadPartCommand', 'UploadPartCommand']);
    for (const write of writes) {
      expect(write.headers['x-amz-sdk-checksum-algorithm']).toBe('CRC32');
      expect(write.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    }
    expect((await readObject(s3, BUCKET, 't/locked-small.backup')).equals(small)).toBe(true);
  });

  test('keeps no more than partsInFlight parts uploading and holds the writer back until one is stored', async () => {
    // Prepare: every UploadPart is held until released.
    const s3 = localS3Client(local.store);
    const held = holdParts(s3);
    const upload = new PartUpload({ s3, bucket: BUCKET, key: 't/bounded.backup', contentType: 'application/gzip', partSizeBytes: 5 * MIB, partsInFlight: 2, checksum: undefined, unsignedPayload: true });
    const body = randomBytes(16 * MIB);

    // Act: three full parts and a byte; the third part has no slot while two are held.
    const writes = [0, 1, 2, 3].map((part) => upload.write(body.subarray(part * 5 * MIB, Math.min(body.length, (part + 1) * 5 * MIB))));
    await held.reached(2);
    const busyBeforeRelease = writes.map((write) => write !== undefined);
    held.release();
    await Promise.all(writes);
    await upload.complete();

    // Assess
    expect(busyBeforeRelease).toEqual([false, false, false, true]);
    expect(held.most()).toBe(2);
    expect((await readObject(s3, BUCKET, 't/bounded.backup')).equals(body)).toBe(true);
  });

  test('a part the store refuses fails the copy with the store’s error and leaves no object and no open upload', async () => {
    // Prepare: the second part is refused.
    const s3 = localS3Client(local.store);
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { PartNumber?: number };
        if (context.commandName === 'UploadPartCommand' && input.PartNumber === 2) throw Object.assign(new Error('part 2 refused'), { name: 'AccessDenied' });
        return next(args);
      },
      { step: 'initialize', name: 'refusePart2' },
    );

    // Act
    const failure = copyToArchive(copyRequest(s3, 't/refused.backup', randomBytes(16 * MIB)));

    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'AccessDenied', message: 'part 2 refused' });
    expect(await listKeys(s3, BUCKET, 't/refused')).toEqual([]);
    expect(await openMultipartUploads(s3, BUCKET)).toEqual([]);
  });

  test('a bucket that does not exist fails the copy with the store’s answer', async () => {
    // Prepare
    const s3 = localS3Client(local.store);

    // Act
    const failure = copyToArchive({ ...copyRequest(s3, 't/nowhere.backup', randomBytes(11 * MIB)), bucket: 'no-such-bucket' });

    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });
});

describe('payloadCanGoUnsigned', () => {
  test('lets parts go unsigned to AWS and over https or loopback, and signs them to a plain-http store elsewhere', async () => {
    // Prepare
    const clients = {
      aws: new S3Client({ region: 'eu-west-1' }),
      https: new S3Client({ region: 'eu-west-1', endpoint: 'https://s3.example.net' }),
      loopback: new S3Client({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4568' }),
      plainHttp: new S3Client({ region: 'eu-west-1', endpoint: 'http://s3.example.net:9000' }),
    };

    // Act
    const answers = Object.fromEntries(await Promise.all(Object.entries(clients).map(async ([name, client]) => [name, await payloadCanGoUnsigned(client)] as const)));

    // Assess
    expect(answers).toEqual({ aws: true, https: true, loopback: true, plainHttp: false });
  });
});

describe('partChecksum', () => {
  test('is the one asked for, else CRC32 for a client that sends checksums whenever supported, else none', async () => {
    // Prepare
    const aws = new S3Client({ region: 'eu-west-1' });
    const compatible = new S3Client({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4568', requestChecksumCalculation: 'WHEN_REQUIRED' });

    // Act
    const answers = [await partChecksum(compatible, 'CRC32'), await partChecksum(aws, undefined), await partChecksum(compatible, undefined)];

    // Assess
    expect(answers).toEqual(['CRC32', 'CRC32', undefined]);
  });
});

describe('crc32Base64', () => {
  test('encodes the CRC32 as S3 expects it: four big-endian bytes in base64', () => {
    // Prepare: the CRC32 of "123456789" is the standard check value 0xcbf43926.
    const data = Buffer.from('123456789');

    // Act
    const encoded = crc32Base64(data);

    // Assess
    expect(crc32(data)).toBe(0xcbf43926);
    expect(encoded).toBe(Buffer.from([0xcb, 0xf4, 0x39, 0x26]).toString('base64'));
  });
});
