import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { copyToArchive, partSizeFor, type CopyRequest } from '../../functions/archive/copier';
import { CopyCancelled, CopyVerificationFailed, NotAuthorized } from '../../functions/shared/errors';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { listKeys, localS3Client, openMultipartUploads, readObject } from '../support/harness';

const BUCKET = 'copier-test';

describe('copyToArchive', () => {
  let directory: string;
  let s3Server: LocalS3;
  let s3: S3Client;
  let http: Server;
  let baseUrl: string;
  let served: { body: Buffer; status?: number; contentLength?: number; headers?: Record<string, string> };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offsite-copier-'));
    s3Server = await startLocalS3({ directory, buckets: [BUCKET] });
    s3 = localS3Client(s3Server);
    http = createServer((_request, response) => {
      response.writeHead(served.status ?? 200, {
        'content-type': 'application/gzip',
        'content-length': String(served.contentLength ?? served.body.length),
        ...served.headers,
      });
      response.end(served.body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await s3Server.stop();
    await rm(directory, { recursive: true, force: true });
  });

  function request(key: string, expected: CopyRequest['expected'], extra: Partial<CopyRequest> = {}): CopyRequest {
    return {
      source: { url: `${baseUrl}/dl/secret-path-token?X-Amz-Signature=secret-signature` },
      expected,
      s3,
      bucket: BUCKET,
      objectKey: key,
      describe: { target: 't', kind: 'netbox-cloud', sourceBackupId: 'b-1', createdAt: '2026-03-23T01:17:10.802995Z', source: { instanceId: 'nb-a1' } },
      partSizeBytes: 5 * 1024 * 1024,
      ...extra,
    };
  }

  test('stores the bytes unchanged through a multipart upload and reports progress', async () => {
    // Prepare: 11 MiB = three parts of 5 MiB.
    served = { body: randomBytes(11 * 1024 * 1024) };
    const sha256 = createHash('sha256').update(served.body).digest('hex');
    const progress: number[] = [];

    // Act
    const result = await copyToArchive(request('t/multipart.backup', { sizeBytes: served.body.length, checksum: sha256 }, { onProgress: (p) => progress.push(p.bytes) }));

    // Assess
    expect(result).toMatchObject({ sizeBytes: served.body.length, sha256, sourceChecksumVerified: true });
    expect((await readObject(s3, BUCKET, 't/multipart.backup')).equals(served.body)).toBe(true);
    expect(progress.at(-1)).toBe(served.body.length);
    const manifest = JSON.parse((await readObject(s3, BUCKET, result.manifestKey)).toString('utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ objectKey: 't/multipart.backup', sizeBytes: served.body.length, sha256, contentType: 'application/gzip', sourceSizeBytes: served.body.length });
  });

  test('stores the bytes as served even when they are labelled Content-Encoding: gzip', async () => {
    // Prepare: a gzip file served with Content-Encoding, which fetch would silently decode.
    served = { body: gzipSync(randomBytes(4000)), headers: { 'content-encoding': 'gzip' } };
    const sha256 = createHash('sha256').update(served.body).digest('hex');

    // Act
    const result = await copyToArchive(request('t/encoded.backup', { sizeBytes: served.body.length, checksum: sha256 }));

    // Assess
    expect(result).toMatchObject({ sizeBytes: served.body.length, sha256 });
    expect((await readObject(s3, BUCKET, 't/encoded.backup')).equals(served.body)).toBe(true);
  });

  test('a cancelled copy stops and leaves nothing behind', async () => {
    // Prepare
    served = { body: randomBytes(12 * 1024 * 1024) };
    const cancel = new AbortController();

    // Act
    const failure = copyToArchive(
      request('t/cancelled.backup', { sizeBytes: served.body.length, checksum: null }, { signal: cancel.signal, onProgress: (p) => p.bytes > 6 * 1024 * 1024 && cancel.abort() }),
    );

    // Assess
    await expect(failure).rejects.toBeInstanceOf(CopyCancelled);
    expect(await listKeys(s3, BUCKET, 't/cancelled')).toEqual([]);
    expect(await openMultipartUploads(s3, BUCKET)).toEqual([]);
  });

  test('verifies an md5 vendor checksum', async () => {
    // Prepare
    served = { body: randomBytes(1000) };
    const md5 = createHash('md5').update(served.body).digest('hex');

    // Act
    const result = await copyToArchive(request('t/md5.backup', { sizeBytes: 1000, checksum: md5 }));

    // Assess
    expect(result.sourceChecksumVerified).toBe(true);
  });

  test('records a checksum of unknown form without claiming it was verified', async () => {
    // Prepare
    served = { body: randomBytes(1000) };

    // Act
    const result = await copyToArchive(request('t/opaque.backup', { sizeBytes: 1000, checksum: 'a21ae13...' }));

    // Assess
    expect(result.sourceChecksumVerified).toBe(false);
    const manifest = JSON.parse((await readObject(s3, BUCKET, result.manifestKey)).toString('utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ sourceChecksum: 'a21ae13...', sourceChecksumAlgorithm: null, sourceChecksumVerified: false });
  });

  test('a download shorter than size_bytes fails and leaves nothing', async () => {
    // Prepare: 6 MiB arrive, 7 MiB were promised (so one part was already uploaded).
    served = { body: randomBytes(6 * 1024 * 1024) };

    // Act
    const failure = copyToArchive(request('t/short.backup', { sizeBytes: 7 * 1024 * 1024, checksum: null }));

    // Assess
    await expect(failure).rejects.toBeInstanceOf(CopyVerificationFailed);
    await expect(failure).rejects.toThrow(`The download ended after ${6 * 1024 * 1024} bytes; the vendor reported ${7 * 1024 * 1024}.`);
    expect(await listKeys(s3, BUCKET, 't/short')).toEqual([]);
    expect(await openMultipartUploads(s3, BUCKET)).toEqual([]);
  });

  test('a download longer than size_bytes fails and leaves nothing', async () => {
    // Prepare
    served = { body: randomBytes(2000) };

    // Act / Assess
    await expect(copyToArchive(request('t/long.backup', { sizeBytes: 1000, checksum: null }))).rejects.toThrow('The download is longer than the 1000 bytes the vendor reported.');
    expect(await listKeys(s3, BUCKET, 't/long')).toEqual([]);
  });

  test('an expired link fails as NotAuthorized without the signature in the message', async () => {
    // Prepare
    served = { body: Buffer.from('<Error>AccessDenied</Error>'), status: 403 };

    // Act
    const failure = copyToArchive(request('t/expired.backup', { sizeBytes: null, checksum: null }));

    // Assess
    await expect(failure).rejects.toBeInstanceOf(NotAuthorized);
    await expect(failure).rejects.toThrow(`Download from ${baseUrl} failed: HTTP 403`);
    await expect(failure).rejects.not.toThrow(/secret-signature|secret-path-token/);
  });
});

describe('partSizeFor', () => {
  test('uses 5 MiB parts for ordinary backups and when the size is unknown', () => {
    expect(partSizeFor(1024 * 1024 * 1024)).toBe(5 * 1024 * 1024);
    expect(partSizeFor(null)).toBe(5 * 1024 * 1024);
  });

  test('grows the parts of a very large backup so it fits S3’s 10 000-part limit', () => {
    // Prepare: 100 GiB would need 20 480 parts of 5 MiB.
    const size = 100 * 1024 * 1024 * 1024;

    // Act
    const part = partSizeFor(size);

    // Assess
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
    expect(part % (1024 * 1024)).toBe(0);
  });
});
