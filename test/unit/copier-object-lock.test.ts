import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { copyToArchive, type CopyRequest } from '../../functions/archive/copier';
import { localStoreForSuite } from '../support/local-store';
import { localS3Client, readObject } from '../support/harness';
import { recordRequests, type SentRequest } from '../support/s3-requests';

const BUCKET = 'copier-lock-test';
const MIB = 1024 * 1024;

function streamSource(body: Buffer): CopyRequest['source'] {
  return { where: 'test', open: () => Promise.resolve({ body: Readable.from([body]), contentType: 'application/gzip', contentLength: body.length }) };
}

describe('copyToArchive into an Object Lock bucket', () => {
  const local = localStoreForSuite('offsite-copier-lock-', [BUCKET]);

  function request(s3: S3Client, key: string, body: Buffer, extra: Partial<CopyRequest> = {}): CopyRequest {
    return {
      source: streamSource(body),
      expected: { sizeBytes: body.length, checksum: null },
      s3,
      bucket: BUCKET,
      objectKey: key,
      describe: { target: 't', kind: 'netbox-cloud', sourceBackupId: 'b-1', createdAt: '2026-03-23T01:17:10Z', source: {} },
      partSizeBytes: 5 * MIB,
      ...extra,
    };
  }

  test('sends a CRC32 checksum with every part and the manifest, and a store that ignores checksums still takes the copy', async () => {
    // Prepare: 11 MiB = three parts; the client is the S3-compatible one (checksums only when required).
    const s3 = localS3Client(local.store);
    const sent: SentRequest[] = [];
    recordRequests(s3, sent);
    const body = randomBytes(11 * MIB);

    // Act
    const result = await copyToArchive(request(s3, 't/locked.backup', body, { checksumAlgorithm: 'CRC32' }));

    // Assess
    expect(result.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect((await readObject(s3, BUCKET, 't/locked.backup')).equals(body)).toBe(true);
    const parts = sent.filter((entry) => entry.operation === 'UploadPartCommand');
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]+=*$/);
    // The manifest goes through the archive writer, which sends Content-MD5.
    const manifestPut = sent.find((entry) => entry.operation === 'PutObjectCommand');
    expect(manifestPut?.headers['content-md5']).toBeDefined();
  });

  test('a copy smaller than one part goes up in one PutObject that carries the checksum', async () => {
    // Prepare
    const s3 = localS3Client(local.store);
    const sent: SentRequest[] = [];
    recordRequests(s3, sent);
    const body = randomBytes(64 * 1024);

    // Act
    await copyToArchive(request(s3, 't/small.backup', body, { checksumAlgorithm: 'CRC32' }));

    // Assess: the object (CRC32) and then its manifest (Content-MD5, from the archive writer).
    const puts = sent.filter((entry) => entry.operation === 'PutObjectCommand');
    expect(puts).toHaveLength(2);
    expect(puts[0]?.headers['x-amz-checksum-crc32']).toBeDefined();
    expect(puts[1]?.headers['content-md5']).toBeDefined();
  });

  test('without Object Lock an S3-compatible store gets no checksum headers (as before)', async () => {
    // Prepare
    const s3 = localS3Client(local.store);
    const sent: SentRequest[] = [];
    recordRequests(s3, sent);

    // Act
    await copyToArchive(request(s3, 't/plain.backup', randomBytes(6 * MIB)));

    // Assess
    expect(sent.length).toBeGreaterThan(0);
    for (const entry of sent) expect(Object.keys(entry.headers).filter((name) => name.startsWith('x-amz-checksum-'))).toEqual([]);
  });
});
