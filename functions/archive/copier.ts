import { createHash, type Hash } from 'node:crypto';
import type { Socket } from 'node:net';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Agent, buildConnector, request as undiciRequest, type Dispatcher } from 'undici';
import { CopyCancelled, CopyVerificationFailed, DownloadStalled, DownloadUrlRefused, TransientApiError, VendorApiError } from '../shared/errors';
import { headerValue, networkReason, parseRetryAfter, statusError } from '../shared/http';
import { archiveWriter } from './archive-writer';
import { parseVendorChecksum } from './checksum';
import { checkDownloadUrl, guardedLookup, type DownloadHostPolicy, type ResolveHost } from './download-guard';
import { manifestKeyFor, type Manifest } from './manifest';
import { PartUpload, partChecksum, payloadCanGoUnsigned } from './part-upload';
import type { WriteEncryption } from './places';

/** Where the bytes come from: a URL plus headers, resolved inside the copy function. */
export interface UrlSource {
  readonly url: string;
  /** Which hosts the link, and every redirect, may lead to (downloadHostPolicy). */
  readonly hosts: DownloadHostPolicy;
  readonly headers?: Record<string, string>;
  /** PEM bundle of the CA that signed the server's certificate. */
  readonly ca?: string;
  /** Name resolution for the connection (default: the system's); tests inject one. */
  readonly resolve?: ResolveHost;
}

export interface OpenedDownload {
  readonly body: Readable;
  readonly contentType: string | undefined;
  readonly contentLength: number | undefined;
}

/** A vendor client that opens the stream itself (its own authentication and TLS settings). */
export interface StreamSource {
  /** Where the bytes come from, for messages: an origin, never a URL with a token in it. */
  readonly where: string;
  open(signal: AbortSignal): Promise<OpenedDownload>;
}

export type DownloadSource = UrlSource | StreamSource;

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
  /** Aborting it stops the copy and cleans up like any other failure (the CLI's Ctrl-C). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: CopyProgress) => void;
  /** No bytes for this long, from the request on, aborts the copy as DownloadStalled (default DOWNLOAD_IDLE_TIMEOUT_MS). */
  readonly idleTimeoutMs?: number;
  readonly partSizeBytes?: number;
  readonly queueSize?: number;
  /**
   * Sent with every part when set (the manifest goes through archiveWriter, with Content-MD5): S3 refuses writes into an Object Lock
   * bucket that carry neither Content-MD5 nor an x-amz-checksum-* header. Left unset for
   * S3-compatible stores without Object Lock, whose client sends checksums only when
   * required (see archiveClient). Parts are buffers, so the checksum goes in a header,
   * not an aws-chunked trailer that such stores refuse; s3rver ignores it.
   */
  readonly checksumAlgorithm?: 'CRC32';
  /** SSE-KMS of the copy and its manifest (encryptionParams of the place written to); absent: the bucket's default. */
  readonly encryption?: WriteEncryption;
}

export interface CopyResult {
  readonly objectKey: string;
  readonly manifestKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly sourceChecksumVerified: boolean;
}

/**
 * Counts and hashes bytes, and checks them against the expected size and vendor checksum:
 * update() refuses a byte beyond the expected size at once, finish() the wrong size or
 * checksum at the end.
 */
export class StreamVerifier {
  bytes = 0;
  sha256Hex = '';
  private readonly sha256 = createHash('sha256');
  private readonly vendorHash: Hash | undefined;

  constructor(
    private readonly expected: CopyRequest['expected'],
    private readonly vendorChecksum: ReturnType<typeof parseVendorChecksum>,
    private readonly options: Pick<VerifyingStreamOptions, 'subject' | 'authority'> = {},
  ) {
    this.vendorHash = vendorChecksum && vendorChecksum.algorithm !== 'sha256' ? createHash(vendorChecksum.algorithm) : undefined;
  }

  private get subject(): string {
    return this.options.subject ?? 'the download';
  }

  private get authority(): string {
    return this.options.authority ?? 'the vendor reported';
  }

  /** Counts and hashes one chunk; throws CopyVerificationFailed when it takes the bytes past the expected size. */
  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.expected.sizeBytes !== null && this.bytes > this.expected.sizeBytes) {
      throw new CopyVerificationFailed(`${capitalized(this.subject)} is longer than the ${this.expected.sizeBytes} bytes ${this.authority}.`);
    }
    this.sha256.update(chunk);
    this.vendorHash?.update(chunk);
  }

  /** After the last chunk: sets sha256Hex, and throws CopyVerificationFailed when the size or the vendor checksum differs. */
  finish(): void {
    this.sha256Hex = this.sha256.digest('hex');
    if (this.expected.sizeBytes !== null && this.bytes !== this.expected.sizeBytes) {
      throw new CopyVerificationFailed(`${capitalized(this.subject)} ended after ${this.bytes} bytes; ${this.authority} ${this.expected.sizeBytes}.`);
    }
    if (this.vendorChecksum) {
      const actual = this.vendorHash ? this.vendorHash.digest('hex') : this.sha256Hex;
      if (actual !== this.vendorChecksum.hex) {
        throw new CopyVerificationFailed(`${this.vendorChecksum.algorithm} of ${this.subject} is ${actual}; ${this.authority} ${this.vendorChecksum.hex}.`);
      }
    }
  }
}

/**
 * A StreamVerifier as a Transform, for a body piped to a receiver (the appliance upload):
 * it refuses to end the stream unless size and checksum match, so the receiver never sees
 * the end of a mismatched body.
 */
export class VerifyingStream extends Transform {
  private readonly verifier: StreamVerifier;
  private held: Buffer | undefined;

  constructor(
    expected: CopyRequest['expected'],
    vendorChecksum: ReturnType<typeof parseVendorChecksum>,
    private readonly onBytes: (bytes: number) => void,
    private readonly options: VerifyingStreamOptions = {},
  ) {
    super();
    this.verifier = new StreamVerifier(expected, vendorChecksum, options);
  }

  get bytes(): number {
    return this.verifier.bytes;
  }

  get sha256Hex(): string {
    return this.verifier.sha256Hex;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.verifier.update(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.onBytes(this.verifier.bytes);
    if (!this.options.holdLastChunk) {
      callback(null, chunk);
      return;
    }
    const previous = this.held;
    this.held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.verifier.finish();
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, this.held);
  }
}

export interface VerifyingStreamOptions {
  /**
   * Keep the last chunk back until size and checksum are verified: the receiver never
   * gets the whole body of a mismatched file (an appliance would store a complete upload).
   */
  readonly holdLastChunk?: boolean;
  /** What the bytes are, in messages (default "the download"). */
  readonly subject?: string;
  /** Who gave the expected values, in messages (default "the vendor reported"). */
  readonly authority?: string;
}

function capitalized(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

const MAX_REDIRECTS = 5;

/**
 * No bytes for this long is a stall. Two attempts (the first and its one retry, see the
 * DownloadStalled retrier of CopyToArchive) plus the wait between them must report a stall
 * within 3 minutes; test/state-machines/asl-policy.test.ts computes that from the ASL.
 */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 60_000;
/** How often the watchdog looks: a stall is noticed at most this long after the timeout. */
export const IDLE_CHECK_EVERY_MS = 1000;

/** An answered download: its body, its headers, and how to release its connection. */
interface DownloadResponse {
  readonly body: Readable;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Closes the download's connection pool (one per download, for its guarded lookup). */
  readonly close: () => void;
}

/**
 * GET the download with undici's request rather than fetch: fetch silently decodes a body
 * sent with Content-Encoding (gzip), and the archive must hold the bytes as served; and
 * rather than node:http, whose parser cost the copy a third more CPU per byte (npm run bench).
 * Redirects are followed a bounded number of times; messages name the origin only,
 * because presigned URLs carry their token in the path or the query. The link and every
 * redirect are checked against the target's host policy before connecting, and the
 * connection resolves its host through the same check (guardedLookup).
 */
async function openDownload(source: UrlSource, signal: AbortSignal, redirects = 0, redirectedFrom?: string): Promise<DownloadResponse> {
  const url = new URL(source.url);
  const where = url.origin;
  checkDownloadUrl(url, source.hosts, redirectedFrom);
  const connector = buildConnector({ lookup: guardedLookup(url, source.hosts, redirectedFrom, source.resolve), ...(source.ca ? { ca: source.ca } : {}) });
  const sockets = new Set<Socket>();
  const dispatcher = new Agent({
    connect: (options, callback) => {
      connector(options, (...connected) => {
        if (connected[1]) sockets.add(connected[1]);
        callback(...connected);
      });
    },
    // The copy's own watchdog decides when a download has stalled.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    // The sockets go first, without an error: undici closes a connection with one (also
    // when its keep-alive timer runs out), and Node reads the stack of the error a stream
    // is destroyed with, which under --enable-source-maps (the copy function's
    // NODE_OPTIONS) parses the bundle's source map: 0.3 CPU s and tens of MiB of heap.
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    dispatcher.destroy().catch(() => undefined);
  };
  let response: Dispatcher.ResponseData;
  try {
    response = await undiciRequest(url, { method: 'GET', headers: { 'accept-encoding': 'identity', ...source.headers }, signal, dispatcher });
  } catch (error) {
    close();
    if (signal.aborted && signal.reason instanceof Error) throw signal.reason;
    const refusal = refusalIn(error);
    if (refusal) throw refusal;
    throw new TransientApiError(`Download from ${where} failed: ${networkReason(error)}`);
  }
  const status = response.statusCode;
  const location = headerValue(response.headers['location']);
  if (status >= 300 && status < 400 && location) {
    response.body.resume();
    close();
    if (redirects >= MAX_REDIRECTS) throw new VendorApiError(`Download from ${where} failed: more than ${MAX_REDIRECTS} redirects`, status);
    // A redirect to another host must not carry the vendor's credentials along.
    const next = new URL(location, url);
    const headers = next.origin === url.origin ? source.headers : undefined;
    return openDownload({ ...source, url: next.toString(), ...(headers ? { headers } : { headers: {} }) }, signal, redirects + 1, where);
  }
  if (status < 200 || status >= 300) {
    // The body is not quoted: a storage service's error for a presigned link can echo the signature it was given.
    response.body.resume();
    close();
    const retryAfterSeconds = parseRetryAfter(headerValue(response.headers['retry-after']));
    throw statusError({ operation: `Download from ${where}`, status, retryAfterSeconds }, '', 'the link may have expired or the credentials are wrong');
  }
  return { body: response.body, headers: response.headers, close };
}

/** The host policy's refusal, when that is why the connection failed (undici may wrap the lookup's error). */
function refusalIn(error: unknown): DownloadUrlRefused | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    if (current instanceof DownloadUrlRefused) return current;
    current = current.cause;
  }
  return undefined;
}

/**
 * Streams one vendor download into the archive: multipart upload, SHA-256 and size
 * computed in the stream, manifest written only after the object is complete and
 * verified. On any failure the multipart upload is aborted (PartUpload) and an object
 * already completed is deleted, so nothing is left that looks like a backup.
 */
export async function copyToArchive(request: CopyRequest): Promise<CopyResult> {
  const started = Date.now();
  const abort = new AbortController();
  const stopOnCancel = (): void => abort.abort(new CopyCancelled('The copy was cancelled; nothing was stored.'));
  if (request.signal?.aborted) stopOnCancel();
  request.signal?.addEventListener('abort', stopOnCancel, { once: true });

  // One watchdog for the whole copy, rather than re-arming a timer for every chunk. It runs
  // from the request on: a server that accepts the connection and never answers stalls too.
  const idleTimeoutMs = request.idleTimeoutMs ?? DOWNLOAD_IDLE_TIMEOUT_MS;
  const where = sourceOrigin(request.source);
  let lastBytesAt = Date.now();
  const idleTimer = setInterval(() => {
    if (Date.now() - lastBytesAt >= idleTimeoutMs) abort.abort(new DownloadStalled(`Download from ${where} stalled: no bytes for ${idleTimeoutMs} ms.`));
  }, Math.min(IDLE_CHECK_EVERY_MS, idleTimeoutMs));
  let closeDownload: (() => void) | undefined;
  try {
    const opened = await openSource(request.source, abort.signal);
    closeDownload = opened.close;
    // The connection goes as soon as the body has been read, not after the upload has
    // completed: by then its keep-alive timer may have closed it with an error (see openDownload).
    if (closeDownload) void finished(opened.body).then(closeDownload, closeDownload);
    return await copyOpened(request, opened, abort, (bytes, totalBytes) => {
      lastBytesAt = Date.now();
      request.onProgress?.({ bytes, totalBytes, elapsedMs: lastBytesAt - started });
    });
  } finally {
    closeDownload?.();
    clearInterval(idleTimer);
    request.signal?.removeEventListener('abort', stopOnCancel);
  }
}

async function copyOpened(
  request: CopyRequest,
  opened: OpenedDownload,
  abort: AbortController,
  onBytes: (bytes: number, totalBytes: number | null) => void,
): Promise<CopyResult> {
  const clock = request.clock ?? (() => new Date());
  const body = opened.body;
  const contentType = opened.contentType ?? 'application/octet-stream';
  const totalBytes = request.expected.sizeBytes ?? opened.contentLength ?? null;
  // When the vendor gave no size, the length the server announced is checked instead.
  const expected = { ...request.expected, sizeBytes: totalBytes };
  const vendorChecksum = parseVendorChecksum(request.expected.checksum);

  const verifier = new StreamVerifier(expected, vendorChecksum);
  const upload = new PartUpload({
    s3: request.s3,
    bucket: request.bucket,
    key: request.objectKey,
    contentType,
    partSizeBytes: request.partSizeBytes ?? partSizeFor(totalBytes),
    partsInFlight: request.queueSize ?? PARTS_IN_FLIGHT,
    checksum: await partChecksum(request.s3, request.checksumAlgorithm),
    unsignedPayload: await payloadCanGoUnsigned(request.s3),
    ...(request.encryption ? { encryption: request.encryption } : {}),
  });
  let objectCompleted = false;
  try {
    // Whichever side fails first stops the other: a broken download or a verification
    // failure aborts the multipart upload (below), a failed part stops the download.
    await feed(body, verifier, upload, (bytes) => onBytes(bytes, totalBytes)).catch((error: unknown) => {
      throw upload.error ?? downloadError(error, request.source, abort);
    });
    // Size and checksum are verified before the last part goes up and the object exists.
    verifier.finish();
    await upload.complete();
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
    await archiveWriter(request.s3, request.bucket, request.encryption).putJson(manifestKey, manifest);
    return { objectKey: request.objectKey, manifestKey, sizeBytes: verifier.bytes, sha256: verifier.sha256Hex, sourceChecksumVerified: manifest.sourceChecksumVerified };
  } catch (error) {
    abort.abort();
    body.destroy();
    await upload.abort();
    if (objectCompleted) {
      // The bytes landed but the manifest did not: remove them so no manifest-less copy remains.
      await request.s3.send(new DeleteObjectCommand({ Bucket: request.bucket, Key: request.objectKey })).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * Moves the body through the verifier into the upload, chunk by chunk, with 'data'
 * events (no Transform or async iterator per chunk): the body is paused while every part
 * buffer is busy. Resolves when the body has ended and the last chunk is in a part
 * buffer; rejects with the body's error, a verification failure or the upload's failure.
 */
export async function feed(body: Readable, verifier: StreamVerifier, upload: PartUpload, onBytes: (bytes: number) => void): Promise<void> {
  let waiting: Promise<void> | undefined;
  body.on('data', (chunk: Buffer) => {
    try {
      verifier.update(chunk);
      onBytes(verifier.bytes);
      const busy = upload.write(chunk);
      if (busy) {
        body.pause();
        waiting = busy.then(() => {
          body.resume();
        });
        waiting.catch((error: unknown) => body.destroy(error as Error));
      }
    } catch (error) {
      body.destroy(error as Error);
    }
  });
  await finished(body);
  await waiting;
}

const MIB = 1024 * 1024;
/** Parts uploaded at once (see partSizeFor). */
const PARTS_IN_FLIGHT = 4;
/** S3 allows 10 000 parts; stay below that with room for a size that was reported low. */
const MAX_PARTS = 9000;

/**
 * 8 MiB parts, four uploading while a fifth fills: 40 MiB of part buffers. Measured at
 * 1 GiB with the bench's source, bundle and endpoints (npm run bench's sweep into the
 * discard sink, two runs): 8 MiB x 4 took 2.76-3.00 CPU s/GiB at 377-406 MiB/s against
 * 3.07-3.36 at 336-366 for 5 MiB x 4 (the S3 minimum); 5 x 8 cost more (3.19-3.70),
 * 16 x 2 swung from 2.83 to 3.94 and peaked at 173-174 MiB. The larger buffers cost
 * about 12 MiB of peak RSS into the store: 160-163 MiB at 1 and 3 GiB, against 148-152. Part size mattered little while every part opened a
 * connection of its own (see archiveClient); with kept-alive connections each part's
 * fixed cost shows. Four in flight rather than fewer because in AWS every part waits a
 * round trip to S3, which a local store cannot show. 8 MiB is also the AWS CLI's part
 * size. A large backup gets parts just big enough to stay within S3's part count.
 */
export function partSizeFor(totalBytes: number | null): number {
  const needed = totalBytes === null ? 0 : Math.ceil(totalBytes / MAX_PARTS / MIB) * MIB;
  return Math.max(8 * MIB, needed);
}

async function openSource(source: DownloadSource, signal: AbortSignal): Promise<OpenedDownload & { readonly close?: () => void }> {
  if ('open' in source) return source.open(signal);
  const response = await openDownload(source, signal);
  const announced = Number(headerValue(response.headers['content-length']) ?? NaN);
  return {
    body: response.body,
    contentType: headerValue(response.headers['content-type']),
    contentLength: Number.isFinite(announced) ? announced : undefined,
    close: response.close,
  };
}

function sourceOrigin(source: DownloadSource): string {
  return 'open' in source ? source.where : new URL(source.url).origin;
}

function downloadError(reason: unknown, source: DownloadSource, abort: AbortController): Error {
  if (reason instanceof CopyVerificationFailed) return reason;
  if (abort.signal.reason instanceof DownloadStalled || abort.signal.reason instanceof CopyCancelled) return abort.signal.reason;
  return new TransientApiError(`Download from ${sourceOrigin(source)} broke off: ${networkReason(reason)}`);
}
