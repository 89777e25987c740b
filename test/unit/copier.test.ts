import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { copyToArchive, partSizeFor, type CopyRequest } from '../../functions/archive/copier';
import { addressRefusal, downloadHostPolicy, type DownloadHostPolicy } from '../../functions/archive/download-guard';
import { CopyCancelled, CopyVerificationFailed, DownloadStalled, DownloadUrlRefused, NotAuthorized } from '../../functions/shared/errors';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { watchConnections } from '../support/connect-guard';
import { listKeys, localS3Client, openMultipartUploads, readObject } from '../support/harness';

const BUCKET = 'copier-test';
/** What the sandbox gets: its API, and so its download links, are on 127.0.0.1 over http. */
const SANDBOX_HOSTS: DownloadHostPolicy = { allowLoopback: true, allowPrivate: false };
const PRODUCTION_HOSTS: DownloadHostPolicy = { allowLoopback: false, allowPrivate: false };
const METADATA_LINK = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/?X-Amz-Signature=secret-signature';

describe('copyToArchive', () => {
  let directory: string;
  let s3Server: LocalS3;
  let s3: S3Client;
  let http: Server;
  let baseUrl: string;
  let served: { body: Buffer; status?: number; contentLength?: number; headers?: Record<string, string>; stallAfterBytes?: number; neverAnswer?: boolean };
  let connections = 0;
  /** Called when a connection opened while it was set closes. */
  let onConnectionClosed: (() => void) | undefined;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offsite-copier-'));
    s3Server = await startLocalS3({ directory, buckets: [BUCKET] });
    s3 = localS3Client(s3Server);
    http = createServer((_request, response) => {
      // Both stalls hold the connection open without another byte; the copier has to give up.
      if (served.neverAnswer) return;
      response.writeHead(served.status ?? 200, {
        'content-type': 'application/gzip',
        'content-length': String(served.contentLength ?? served.body.length),
        ...served.headers,
      });
      if (served.stallAfterBytes !== undefined) {
        response.write(served.body.subarray(0, served.stallAfterBytes));
        return;
      }
      response.end(served.body);
    });
    http.on('connection', (socket) => {
      connections += 1;
      const closed = onConnectionClosed;
      if (closed) socket.once('close', closed);
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
      source: { url: `${baseUrl}/dl/secret-path-token?X-Amz-Signature=secret-signature`, hosts: SANDBOX_HOSTS },
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

  test('lets the download connection go once the body is read, before the upload completes', async () => {
    // Prepare: 11 MiB, so the held last part and the completion go up after the body has ended.
    // The completion waits (at most 5 s) for the source to see its connection closed. The
    // source keeps idle connections for a minute, so neither side's keep-alive timer closes it first.
    served = { body: randomBytes(11 * 1024 * 1024) };
    const keepAliveTimeout = http.keepAliveTimeout;
    http.keepAliveTimeout = 60_000;
    const sourceClosed = new Promise<'closed'>((resolve) => {
      onConnectionClosed = () => resolve('closed');
    });
    const client = localS3Client(s3Server);
    let atCompletion: 'closed' | 'still open' | undefined;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CompleteMultipartUploadCommand') {
          const giveUp = new AbortController();
          atCompletion = await Promise.race([sourceClosed, delay(5000, 'still open' as const, { signal: giveUp.signal })]);
          giveUp.abort();
        }
        return next(args);
      },
      { step: 'finalizeRequest' },
    );

    // Act
    try {
      await copyToArchive(request('t/released.backup', { sizeBytes: served.body.length, checksum: null }, { s3: client }));
    } finally {
      http.keepAliveTimeout = keepAliveTimeout;
      onConnectionClosed = undefined;
      client.destroy();
    }

    // Assess
    expect(atCompletion).toBe('closed');
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

  test('a download that stops sending bytes fails as DownloadStalled after the idle timeout and leaves nothing', async () => {
    // Prepare: half the promised bytes, then silence on an open connection.
    served = { body: randomBytes(4000), stallAfterBytes: 2000 };

    // Act
    const failure = copyToArchive(request('t/stalled.backup', { sizeBytes: 4000, checksum: null }, { idleTimeoutMs: 50 }));

    // Assess
    await expect(failure).rejects.toBeInstanceOf(DownloadStalled);
    await expect(failure).rejects.toThrow('no bytes for 50 ms');
    expect(await listKeys(s3, BUCKET, 't/stalled')).toEqual([]);
    expect(await openMultipartUploads(s3, BUCKET)).toEqual([]);
  });

  test('a server that accepts the connection but never answers fails as DownloadStalled', async () => {
    // Prepare
    served = { body: Buffer.alloc(0), neverAnswer: true };

    // Act
    const failure = copyToArchive(request('t/unanswered.backup', { sizeBytes: 1000, checksum: null }, { idleTimeoutMs: 50 }));

    // Assess
    await expect(failure).rejects.toBeInstanceOf(DownloadStalled);
  }, 10_000);

  describe('download links it refuses', () => {
    let watch: ReturnType<typeof watchConnections>;

    beforeEach(() => {
      connections = 0;
      watch = watchConnections();
    });

    afterEach(() => {
      watch.restore();
    });

    test.each([
      ['the metadata address over http', METADATA_LINK],
      ['the metadata address over https', 'https://169.254.169.254/latest/meta-data/?X-Amz-Signature=secret-signature'],
      ['the IPv6 metadata address', 'https://[fd00:ec2::254]/latest/meta-data/?X-Amz-Signature=secret-signature'],
      ['the metadata address as IPv4-mapped IPv6', 'https://[::ffff:169.254.169.254]/latest/meta-data/?X-Amz-Signature=secret-signature'],
    ])('refuses a link to %s, even with private hosts allowed, without connecting', async (_case, url) => {
      // Prepare
      const source = { url, hosts: { allowLoopback: true, allowPrivate: true } };

      // Act
      const failure = copyToArchive(request('t/metadata.backup', { sizeBytes: null, checksum: null }, { source, idleTimeoutMs: 1000 }));

      // Assess
      await expect(failure).rejects.toBeInstanceOf(DownloadUrlRefused);
      await expect(failure).rejects.toThrow(/cloud metadata/);
      await expect(failure).rejects.not.toThrow(/secret-signature|meta-data/);
      expect(watch.hosts).toEqual([]);
    });

    test('refuses a redirect to the metadata address without connecting to it', async () => {
      // Prepare
      served = { body: Buffer.alloc(0), status: 302, headers: { location: METADATA_LINK } };

      // Act
      const failure = copyToArchive(request('t/redirected.backup', { sizeBytes: null, checksum: null }, { idleTimeoutMs: 1000 }));

      // Assess
      await expect(failure).rejects.toBeInstanceOf(DownloadUrlRefused);
      await expect(failure).rejects.toThrow(`redirected from ${baseUrl}`);
      expect(watch.hosts).not.toContain('169.254.169.254');
    });

    test('refuses a plain-http link to a host that is not loopback, before resolving it', async () => {
      // Prepare
      const resolve = jest.fn(async () => [{ address: '192.0.2.10', family: 4 }]);
      const source = { url: 'http://downloads.example.test/backup?X-Amz-Signature=secret-signature', hosts: SANDBOX_HOSTS, resolve };

      // Act
      const failure = copyToArchive(request('t/plain.backup', { sizeBytes: null, checksum: null }, { source, idleTimeoutMs: 1000 }));

      // Assess
      await expect(failure).rejects.toBeInstanceOf(DownloadUrlRefused);
      await expect(failure).rejects.toThrow('https');
      expect(resolve).not.toHaveBeenCalled();
      expect(watch.hosts).toEqual([]);
    });

    test('refuses a host name when any address it resolves to is private', async () => {
      // Prepare: one public (documentation) address, one private.
      const resolve = jest.fn(async () => [
        { address: '192.0.2.10', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ]);
      const source = { url: 'https://downloads.example.test/backup?X-Amz-Signature=secret-signature', hosts: PRODUCTION_HOSTS, resolve };

      // Act
      const failure = copyToArchive(request('t/private.backup', { sizeBytes: null, checksum: null }, { source, idleTimeoutMs: 1000 }));

      // Assess
      await expect(failure).rejects.toBeInstanceOf(DownloadUrlRefused);
      await expect(failure).rejects.toThrow('10.0.0.7');
      await expect(failure).rejects.toThrow('allowPrivateDownloadHosts');
      expect(resolve).toHaveBeenCalledWith('downloads.example.test', expect.anything());
    });

    test('checks the address actually connected to: a name resolving to loopback is refused outside the sandbox and nothing connects', async () => {
      // Prepare: the name points at this test's own server, as a DNS rebinding would.
      const port = new URL(baseUrl).port;
      const source = { url: `https://downloads.example.test:${port}/backup`, hosts: PRODUCTION_HOSTS, resolve: async () => [{ address: '127.0.0.1', family: 4 }] };

      // Act
      const failure = copyToArchive(request('t/rebound.backup', { sizeBytes: null, checksum: null }, { source, idleTimeoutMs: 1000 }));

      // Assess
      await expect(failure).rejects.toBeInstanceOf(DownloadUrlRefused);
      await expect(failure).rejects.toThrow('loopback');
      expect(connections).toBe(0);
    });

    test('a sandbox link by host name is fetched from the address the check approved', async () => {
      // Prepare
      served = { body: randomBytes(1000) };
      const resolve = jest.fn(async () => [{ address: '127.0.0.1', family: 4 }]);
      const source = { url: `http://localhost:${new URL(baseUrl).port}/dl`, hosts: SANDBOX_HOSTS, resolve };

      // Act
      const result = await copyToArchive(request('t/by-name.backup', { sizeBytes: 1000, checksum: null }, { source }));

      // Assess
      expect(result.sizeBytes).toBe(1000);
      expect(resolve).toHaveBeenCalledWith('localhost', expect.anything());
      expect(connections).toBe(1);
    });
  });
});

describe('download host policy', () => {
  const everything: DownloadHostPolicy = { allowLoopback: true, allowPrivate: true };

  test.each(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '::ffff:169.254.169.254', 'fe80::1', '0.0.0.0', '::', '224.0.0.1'])(
    'refuses %s whatever the target allows',
    (address) => {
      // Act / Assess
      expect(addressRefusal(address, everything)).toBeDefined();
    },
  );

  test.each(['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', 'fd12:3456::1', 'fc00::1', '::ffff:10.0.0.1'])(
    'refuses the private address %s unless the target allows private download hosts',
    (address) => {
      // Act / Assess
      expect(addressRefusal(address, PRODUCTION_HOSTS)).toMatch(/private/);
      expect(addressRefusal(address, { allowLoopback: false, allowPrivate: true })).toBeUndefined();
    },
  );

  test.each(['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])('refuses the loopback address %s outside the sandbox only', (address) => {
    // Act / Assess
    expect(addressRefusal(address, { allowLoopback: false, allowPrivate: true })).toMatch(/loopback/);
    expect(addressRefusal(address, SANDBOX_HOSTS)).toBeUndefined();
  });

  test.each(['52.216.8.1', '3.5.140.2', '172.32.0.1', '100.128.0.1', '2600:1f18::1'])('accepts the public address %s', (address) => {
    // Act / Assess
    expect(addressRefusal(address, PRODUCTION_HOSTS)).toBeUndefined();
  });

  test('allows loopback only to a target whose own API is on loopback (the sandbox), private hosts only on request', () => {
    // Act / Assess
    expect(downloadHostPolicy('http://127.0.0.1:4010', undefined)).toEqual({ allowLoopback: true, allowPrivate: false });
    expect(downloadHostPolicy('https://api.netboxlabs.com', undefined)).toEqual({ allowLoopback: false, allowPrivate: false });
    expect(downloadHostPolicy('https://api.netboxlabs.com', true)).toEqual({ allowLoopback: false, allowPrivate: true });
  });
});

describe('partSizeFor', () => {
  test('uses 8 MiB parts for ordinary backups and when the size is unknown', () => {
    expect(partSizeFor(1024 * 1024 * 1024)).toBe(8 * 1024 * 1024);
    expect(partSizeFor(null)).toBe(8 * 1024 * 1024);
  });

  test('grows the parts of a very large backup so it fits S3’s 10 000-part limit', () => {
    // Prepare: 100 GiB would need 12 800 parts of 8 MiB.
    const size = 100 * 1024 * 1024 * 1024;

    // Act
    const part = partSizeFor(size);

    // Assess
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
    expect(part % (1024 * 1024)).toBe(0);
  });
});
