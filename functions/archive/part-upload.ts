import { crc32 } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isLoopback } from '../config/common';
import type { WriteEncryption } from './places';

export interface PartUploadOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly partSizeBytes: number;
  /** Parts being uploaded at once; one more buffer is being filled meanwhile. */
  readonly partsInFlight: number;
  /** CRC32 of every part in a header (and on a single PutObject): S3 checks it, an Object Lock bucket requires one. */
  readonly checksum: 'CRC32' | undefined;
  /**
   * Send the bytes as UNSIGNED-PAYLOAD instead of signing a SHA-256 of every part: the SDK
   * would otherwise hash each part a second time, on top of the copy's own SHA-256.
   * Only where the payload is protected without it (see payloadCanGoUnsigned).
   */
  readonly unsignedPayload: boolean;
  /** SSE-KMS for the object (encryptionParams of its place), sent where S3 takes it: CreateMultipartUpload or the single PutObject. */
  readonly encryption?: WriteEncryption;
}

/**
 * Whether the client's endpoint protects a part's bytes without a signed payload hash:
 * TLS does (AWS's own endpoints, and an https S3-compatible one), and a loopback endpoint
 * (the sandbox, the tests, the bench) has no network to tamper on. A plain-http store
 * elsewhere keeps the signed SHA-256 of every part.
 */
export async function payloadCanGoUnsigned(s3: S3Client): Promise<boolean> {
  const endpoint = await s3.config.endpoint?.();
  if (!endpoint) return s3.config.tls !== false;
  return endpoint.protocol === 'https:' || isLoopback(endpoint.hostname);
}

/**
 * The checksum every part carries: the one asked for (CRC32 for an Object Lock bucket),
 * else CRC32 when the client sends checksums whenever an operation supports them (the
 * SDK's default, AWS's S3), as lib-storage and the SDK did; none for an S3-compatible
 * store's client that sends them only when required (archiveClient).
 */
export async function partChecksum(s3: S3Client, requested: 'CRC32' | undefined): Promise<'CRC32' | undefined> {
  if (requested) return requested;
  return (await s3.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED' ? 'CRC32' : undefined;
}

/** A CRC32 as S3's x-amz-checksum-crc32 header carries it: the four big-endian bytes in base64. */
export function crc32Base64(data: Uint8Array): string {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(crc32(data));
  return bytes.toString('base64');
}

/** Where the signer looks first: with this header it takes the value instead of hashing the body. */
const UNSIGNED_PAYLOAD = { step: 'build', name: 'offsiteUnsignedPayload' } as const;

/** Build-step middleware that makes the signer take UNSIGNED-PAYLOAD instead of hashing the body (see payloadCanGoUnsigned). */
function unsignedPayload<Args extends { readonly request: unknown }, Result>(next: (args: Args) => Result): (args: Args) => Result {
  return (args) => {
    (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    return next(args);
  };
}

/**
 * The checksum fields of a write: the value, and the algorithm's name, which S3 (and
 * moto) read from x-amz-sdk-checksum-algorithm when deciding whether a write into an
 * Object Lock bucket is checked. The SDK does not add that header when the value is given.
 */
function checksumFields(checksum: 'CRC32' | undefined, data: Uint8Array): { ChecksumAlgorithm?: 'CRC32'; ChecksumCRC32?: string } {
  return checksum ? { ChecksumAlgorithm: checksum, ChecksumCRC32: crc32Base64(data) } : {};
}

/**
 * Streams bytes into one S3 object through a multipart upload with a fixed set of part
 * buffers: each chunk written is copied once into the part being filled, a full part is
 * uploaded from that buffer as it is (no concatenation, no re-slicing), and the buffer is
 * reused when its upload is done. So memory is partsInFlight + 1 part buffers whatever the
 * size, and a chunk costs one memcpy. lib-storage's Upload, used before, concatenated the
 * chunks of every part into a fresh buffer and let the SDK hash every part again to sign it.
 *
 * Nothing becomes an object before complete(): the caller verifies the stream first. The
 * last part is held until then; a stream that fits in one part goes up as one PutObject
 * in complete(). abort() stops the parts in flight and aborts the multipart upload.
 */
export class PartUpload {
  private readonly stop = new AbortController();
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;
  private partNumber = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parts: CompletedPart[] = [];
  private uploadId: Promise<string> | undefined;
  private failure: { readonly error: unknown } | undefined;
  private wakeWriter: (() => void) | undefined;
  private state: 'open' | 'completing' | 'completed' | 'aborted' = 'open';

  constructor(private readonly options: PartUploadOptions) {}

  /** The upload's own failure (a part or the start of the upload failed), if any. */
  get error(): unknown {
    return this.failure?.error;
  }

  /**
   * Copies the chunk into the part being filled, starting the upload of a full part when
   * more bytes follow it. Returns a promise when partsInFlight parts are uploading and the
   * next one is full: write again only once it has resolved. Throws (or rejects) with the
   * upload's failure.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      this.throwIfFailed();
      if (this.state === 'aborted') throw new Error(`The upload of ${this.options.key} was aborted`);
      if (this.current && this.filled === this.current.length) {
        if (this.inFlight.size >= this.options.partsInFlight) {
          const rest = chunk.subarray(offset);
          return this.partStored().then(() => this.write(rest));
        }
        this.dispatch();
      }
      // At most partsInFlight buffers are uploading, so one of partsInFlight + 1 is free.
      this.current ??= this.free.pop() ?? Buffer.allocUnsafeSlow(this.options.partSizeBytes);
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      offset += copied;
    }
    return undefined;
  }

  /** Uploads what is left and completes the object; call only after the bytes are verified. */
  async complete(): Promise<void> {
    this.throwIfFailed();
    this.state = 'completing';
    const { s3, bucket, key, contentType, checksum, encryption } = this.options;
    if (this.partNumber === 0) {
      const body = this.current ? this.current.subarray(0, this.filled) : Buffer.alloc(0);
      const command = new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ContentType: contentType, ...checksumFields(checksum, body), ...encryption });
      if (this.options.unsignedPayload) command.middlewareStack.add(unsignedPayload, UNSIGNED_PAYLOAD);
      await s3.send(command, { abortSignal: this.stop.signal });
    } else {
      if (this.filled > 0) this.dispatch();
      while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
      this.throwIfFailed();
      const uploadId = await this.started();
      const parts = [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), {
        abortSignal: this.stop.signal,
      });
    }
    this.state = 'completed';
    this.release();
  }

  /** Stops every part in flight and aborts the multipart upload, so no part is left stored. Never throws. */
  async abort(): Promise<void> {
    if (this.state === 'completed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.stop.abort();
    this.wakeWriter?.();
    await Promise.allSettled([...this.inFlight]);
    const started = this.uploadId;
    this.release();
    if (!started) return;
    const uploadId = await started.catch(() => undefined);
    if (uploadId === undefined) return;
    const { s3, bucket, key } = this.options;
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private partStored(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.wakeWriter = () => {
        this.wakeWriter = undefined;
        if (this.failure) reject(this.failure.error as Error);
        else resolve();
      };
    });
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
    this.wakeWriter?.();
  }

  private release(): void {
    this.free.length = 0;
    this.current = undefined;
  }

  /** Starts the upload of the full part in `current`; its buffer comes back when the part is stored. */
  private dispatch(): void {
    const buffer = this.current;
    if (!buffer) return;
    const data = buffer.subarray(0, this.filled);
    this.current = undefined;
    this.filled = 0;
    this.partNumber += 1;
    const sending = this.sendPart(this.partNumber, data).then(
      () => {
        this.inFlight.delete(sending);
        if (this.state !== 'aborted') this.free.push(buffer);
        this.wakeWriter?.();
      },
      (error: unknown) => {
        this.inFlight.delete(sending);
        this.fail(error);
      },
    );
    this.inFlight.add(sending);
  }

  private started(): Promise<string> {
    const { s3, bucket, key, contentType, checksum, encryption } = this.options;
    // Not stopped by abort(): the upload it creates must be known, to be aborted.
    this.uploadId ??= s3
      .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType, ...(checksum ? { ChecksumAlgorithm: checksum } : {}), ...encryption }))
      .then((created) => {
        if (!created.UploadId) throw new Error(`CreateMultipartUpload for ${key} answered without an UploadId`);
        return created.UploadId;
      });
    return this.uploadId;
  }

  private async sendPart(partNumber: number, data: Buffer): Promise<void> {
    const uploadId = await this.started();
    const { s3, bucket, key, checksum } = this.options;
    const fields = checksumFields(checksum, data);
    const command = new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: data, ContentLength: data.length, ...fields });
    if (this.options.unsignedPayload) command.middlewareStack.add(unsignedPayload, UNSIGNED_PAYLOAD);
    const answer = await s3.send(command, { abortSignal: this.stop.signal });
    if (!answer.ETag) throw new Error(`UploadPart ${partNumber} of ${key} answered without an ETag`);
    this.parts.push({ PartNumber: partNumber, ETag: answer.ETag, ...(fields.ChecksumCRC32 ? { ChecksumCRC32: fields.ChecksumCRC32 } : {}) });
  }
}
