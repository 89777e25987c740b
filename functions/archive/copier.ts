import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CopyVerificationFailed, NotAuthorized, TransientApiError, VendorApiError } from '../shared/errors';
import { describeUrl, networkReason, type FetchFn } from '../shared/http';
import { parseVendorChecksum } from './checksum';
import { manifestKeyFor, type Manifest } from './manifest';

/** Where the bytes come from: a URL plus headers, resolved inside the copy function. */
export interface DownloadSource {
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Extra fetch options per vendor (for example a dispatcher with a private CA). */
  readonly init?: Omit<RequestInit, 'headers' | 'signal' | 'method'>;
}

export interface CopyProgress {
  readonly bytes: number;
  readonly totalBytes: number | null;
  readonly elapsedMs: number;
}

export interface CopyRequest {
  readonly source: DownloadSource;
  readonly expected: { readonly sizeBytes: number | null; readonly checksum: string | null };
  readonly s3: S3Client;
  readonly bucket: string;
  readonly objectKey: string;
  /** Everything in the manifest that the copy itself does not measure. */
  readonly describe: Pick<Manifest, 'target' | 'kind' | 'sourceBackupId' | 'createdAt' | 'source'>;
  readonly clock?: () => Date;
  readonly fetch?: FetchFn;
  readonly onProgress?: (progress: CopyProgress) => void;
  /** No bytes for this long aborts the copy. */
  readonly idleTimeoutMs?: number;
  readonly partSizeBytes?: number;
  readonly queueSize?: number;
}

export interface CopyResult {
  readonly objectKey: string;
  readonly manifestKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly sourceChecksumVerified: boolean;
}

/**
 * Counts and hashes the bytes as they pass, and refuses to end the stream unless size
 * and vendor checksum match. Failing in flush() means the upload never sees the end
 * of its body, so lib-storage aborts the multipart upload instead of completing it: a
 * mismatched copy never becomes an object.
 */
class VerifyingStream extends Transform {
  bytes = 0;
  private readonly sha256 = createHash('sha256');
  private readonly vendorHash: Hash | undefined;
  sha256Hex = '';

  constructor(
    private readonly expected: CopyRequest['expected'],
    private readonly vendorChecksum: ReturnType<typeof parseVendorChecksum>,
    private readonly onBytes: (bytes: number) => void,
  ) {
    super();
    this.vendorHash = vendorChecksum && vendorChecksum.algorithm !== 'sha256' ? createHash(vendorChecksum.algorithm) : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected.sizeBytes !== null && this.bytes > this.expected.sizeBytes) {
      callback(new CopyVerificationFailed(`The download is longer than the ${this.expected.sizeBytes} bytes the vendor reported.`));
      return;
    }
    this.sha256.update(chunk);
    this.vendorHash?.update(chunk);
    this.onBytes(this.bytes);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.sha256Hex = this.sha256.digest('hex');
    if (this.expected.sizeBytes !== null && this.bytes !== this.expected.sizeBytes) {
      callback(new CopyVerificationFailed(`The download ended after ${this.bytes} bytes; the vendor reported ${this.expected.sizeBytes}.`));
      return;
    }
    if (this.vendorChecksum) {
      const actual = this.vendorHash ? this.vendorHash.digest('hex') : this.sha256Hex;
      if (actual !== this.vendorChecksum.hex) {
        callback(
          new CopyVerificationFailed(`${this.vendorChecksum.algorithm} of the downloaded bytes is ${actual}; the vendor reported ${this.vendorChecksum.hex}.`),
        );
        return;
      }
    }
    callback();
  }
}

async function openDownload(source: DownloadSource, fetchFn: FetchFn, abort: AbortController): Promise<Response> {
  const where = describeUrl(new URL(source.url));
  let response: Response;
  try {
    response = await fetchFn(source.url, { ...source.init, method: 'GET', headers: source.headers, signal: abort.signal });
  } catch (error) {
    throw new TransientApiError(`Download from ${where} failed: ${networkReason(error)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const message = `Download from ${where} failed: HTTP ${response.status}`;
    if (response.status === 429 || response.status >= 500) throw new TransientApiError(message);
    if (response.status === 401 || response.status === 403) throw new NotAuthorized(`${message} (the link may have expired or the credentials are wrong)`);
    throw new VendorApiError(message, response.status);
  }
  return response;
}

/**
 * Streams one vendor download into the archive: multipart upload, SHA-256 and size
 * computed in the stream, manifest written only after the object is complete and
 * verified. On any failure the multipart upload is aborted (lib-storage) and an object
 * already completed is deleted, so nothing is left that looks like a backup.
 */
export async function copyToArchive(request: CopyRequest): Promise<CopyResult> {
  const clock = request.clock ?? (() => new Date());
  const fetchFn = request.fetch ?? fetch;
  const started = Date.now();
  const abort = new AbortController();
  const response = await openDownload(request.source, fetchFn, abort);
  const contentType = response.headers.get('content-type') ?? 'application/octet-stream';
  const announced = Number(response.headers.get('content-length') ?? NaN);
  const totalBytes = request.expected.sizeBytes ?? (Number.isFinite(announced) ? announced : null);
  const vendorChecksum = parseVendorChecksum(request.expected.checksum);

  let idleTimer: NodeJS.Timeout | undefined;
  const idleTimeoutMs = request.idleTimeoutMs ?? 120_000;
  const armIdleTimer = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => abort.abort(new TransientApiError(`Download stalled: no bytes for ${idleTimeoutMs} ms.`)), idleTimeoutMs);
  };
  const verifier = new VerifyingStream(request.expected, vendorChecksum, (bytes) => {
    armIdleTimer();
    request.onProgress?.({ bytes, totalBytes, elapsedMs: Date.now() - started });
  });
  const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  const upload = new Upload({
    client: request.s3,
    params: { Bucket: request.bucket, Key: request.objectKey, Body: verifier, ContentType: contentType },
    partSize: request.partSizeBytes ?? 8 * 1024 * 1024,
    queueSize: request.queueSize ?? 4,
    leavePartsOnError: false,
  });

  armIdleTimer();
  // Whichever side fails first stops the other: a broken download ends the upload's
  // body (so lib-storage aborts the multipart upload), a failed upload stops the download.
  const feeding = pipeline(body, verifier).catch((error: unknown) => {
    throw downloadError(error, request.source, abort);
  });
  const uploading = upload.done().catch((error: unknown) => {
    abort.abort();
    body.destroy();
    throw error;
  });
  let objectCompleted = false;
  try {
    const [fed, done] = await Promise.allSettled([feeding, uploading]);
    if (fed.status === 'rejected') throw fed.reason;
    if (done.status === 'rejected') throw done.reason;
    objectCompleted = true;
    const manifest: Manifest = {
      formatVersion: 1,
      ...request.describe,
      objectKey: request.objectKey,
      sizeBytes: verifier.bytes,
      sha256: verifier.sha256Hex,
      sourceChecksum: request.expected.checksum,
      sourceChecksumAlgorithm: vendorChecksum?.algorithm ?? null,
      sourceChecksumVerified: vendorChecksum !== undefined,
      sourceSizeBytes: request.expected.sizeBytes,
      copiedAt: clock().toISOString(),
      contentType,
    };
    const manifestKey = manifestKeyFor(request.objectKey);
    await request.s3.send(
      new PutObjectCommand({ Bucket: request.bucket, Key: manifestKey, Body: `${JSON.stringify(manifest, null, 2)}\n`, ContentType: 'application/json' }),
    );
    return { objectKey: request.objectKey, manifestKey, sizeBytes: verifier.bytes, sha256: verifier.sha256Hex, sourceChecksumVerified: manifest.sourceChecksumVerified };
  } catch (error) {
    abort.abort();
    body.destroy();
    verifier.destroy();
    await upload.abort().catch(() => undefined);
    if (objectCompleted) {
      // The bytes landed but the manifest did not: remove them so no manifest-less copy remains.
      await request.s3.send(new DeleteObjectCommand({ Bucket: request.bucket, Key: request.objectKey })).catch(() => undefined);
    }
    throw error;
  } finally {
    clearTimeout(idleTimer);
  }
}

function downloadError(reason: unknown, source: DownloadSource, abort: AbortController): Error {
  if (reason instanceof CopyVerificationFailed) return reason;
  if (abort.signal.reason instanceof TransientApiError) return abort.signal.reason;
  const where = describeUrl(new URL(source.url));
  return new TransientApiError(`Download from ${where} broke off: ${networkReason(reason)}`);
}
