// The second copy: an archived copy streamed from the primary into the secondary
// (archive.secondary), S3 → S3 in constant memory, checked against the primary's
// manifest in the stream before anything in the secondary presents it. Not S3
// Replication: that cannot reach another provider, and offsite counts only what it has
// verified itself (docs/archive.md, "The second copy").
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../shared/clock';
import { CopyCancelled, CopyVerificationFailed, InvalidInput, PrimaryCopyMissing, SecondaryCopyVerificationFailed, TransientApiError } from '../shared/errors';
import { networkReason } from '../shared/http';
import { archiveWriter } from './archive-writer';
import { feed, partSizeFor, StreamVerifier } from './copier';
import { listArchivedCopies, type ArchivedCopy } from './listing';
import { manifestKeyFor, manifestSchema, type Manifest } from './manifest';
import { encryptionParams, keyInPlace, type ArchivePlace } from './places';
import { PartUpload, partChecksum, payloadCanGoUnsigned } from './part-upload';

/** The place a copy is read from. */
export type SourcePlace = Pick<ArchivePlace, 's3' | 'bucket' | 'prefix'>;
/** The place a copy is written to: a locked one gets a checksum on every write, one with a key SSE-KMS under it. */
export type DestinationPlace = Pick<ArchivePlace, 's3' | 'bucket' | 'prefix' | 'objectLock'> & { readonly kmsKeyArn?: string | undefined };

/** The secondary's manifest: the primary's, with the secondary's key, when it was copied, and where from. */
export type SecondaryManifest = Manifest & { readonly copiedFrom: { readonly bucket: string; readonly objectKey: string } };

export interface SecondaryCopyRequest {
  readonly from: SourcePlace;
  readonly to: DestinationPlace;
  /** The copy's key in `from`. */
  readonly objectKey: string;
  /** The SHA-256 the caller knows the copy by (the CopyToArchive result): the primary's manifest must record the same. */
  readonly expectedSha256?: string;
  readonly clock: Clock;
  readonly partSizeBytes?: number;
  readonly partsInFlight?: number;
  /** Aborting it stops the copy and aborts the multipart upload like any other failure. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytes: number, totalBytes: number) => void;
}

export interface SecondaryCopyResult {
  readonly bucket: string;
  readonly objectKey: string;
  readonly manifestKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** The secondary already held this copy, verified by its manifest: nothing was copied. */
  readonly alreadyThere: boolean;
}

/** Parts uploaded at once, as the copier does (partSizeFor explains the choice). */
const PARTS_IN_FLIGHT = 4;

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

/**
 * An S3 error worth another attempt (throttling, a 5xx, a timeout, a dropped connection)
 * as TransientApiError, which the state machines retry; any other is returned as it is.
 * The SDK has already retried it a few times by then.
 */
function transientOr(error: unknown, operation: string): unknown {
  if (!(error instanceof Error) || error instanceof TransientApiError) return error;
  const status = statusOf(error);
  const throttled = ['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'RequestTimeTooSkewed', 'TimeoutError'].includes(error.name);
  const network = status === undefined && 'code' in error;
  if (throttled || network || status === 429 || (status !== undefined && status >= 500)) {
    return new TransientApiError(`${operation} failed: ${network ? networkReason(error) : `${error.name} (${status ?? 'no status'})`}`, undefined, status, { cause: error });
  }
  return error;
}

async function readManifest(s3: S3Client, bucket: string, manifestKey: string): Promise<unknown> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }));
  return JSON.parse((await answer.Body?.transformToString('utf8')) ?? '') as unknown;
}

/** The primary's manifest of the copy; PrimaryCopyMissing when there is none, or none of the manifest's shape for this key. */
async function primaryManifest(from: SourcePlace, objectKey: string): Promise<Manifest> {
  const manifestKey = manifestKeyFor(objectKey);
  let document: unknown;
  try {
    document = await readManifest(from.s3, from.bucket, manifestKey);
  } catch (error) {
    if (isMissing(error)) throw new PrimaryCopyMissing(`The primary copy has no manifest at s3://${from.bucket}/${manifestKey}: there is no verified copy ${objectKey} to copy.`);
    if (error instanceof SyntaxError) throw new PrimaryCopyMissing(`The primary manifest s3://${from.bucket}/${manifestKey} is not JSON: ${error.message}`);
    throw transientOr(error, `Reading s3://${from.bucket}/${manifestKey}`);
  }
  const parsed = manifestSchema.safeParse(document);
  if (!parsed.success || parsed.data.objectKey !== objectKey) {
    throw new PrimaryCopyMissing(`The primary manifest s3://${from.bucket}/${manifestKey} does not describe ${objectKey} (expected an archived copy's manifest naming it).`);
  }
  return parsed.data;
}

/** The secondary already holds the copy: a manifest recording the primary's SHA-256 and size, and the object at that size. */
async function alreadyHeld(to: DestinationPlace, objectKey: string, manifest: Manifest): Promise<boolean> {
  let document: unknown;
  try {
    document = await readManifest(to.s3, to.bucket, manifestKeyFor(objectKey));
  } catch (error) {
    if (isMissing(error) || error instanceof SyntaxError) return false;
    throw transientOr(error, `Reading s3://${to.bucket}/${manifestKeyFor(objectKey)}`);
  }
  const held = manifestSchema.safeParse(document);
  if (!held.success || held.data.objectKey !== objectKey || held.data.sha256 !== manifest.sha256 || held.data.sizeBytes !== manifest.sizeBytes) return false;
  try {
    const head = await to.s3.send(new HeadObjectCommand({ Bucket: to.bucket, Key: objectKey }));
    return head.ContentLength === manifest.sizeBytes;
  } catch (error) {
    if (isMissing(error)) return false;
    throw transientOr(error, `Reading s3://${to.bucket}/${objectKey}`);
  }
}

/**
 * Copies one archived copy from the primary into the secondary: the bytes stream from
 * GetObject through SHA-256 into a multipart upload (part-upload.ts: a fixed set of part
 * buffers, so memory does not grow with the copy), the last part is held until size and
 * SHA-256 match the primary's manifest, and the secondary's manifest is written last. On
 * any failure the multipart upload is aborted and an object already completed is removed,
 * so the secondary never presents a copy it has not verified. A secondary that already
 * holds the copy (its manifest records the same SHA-256) is left as it is.
 */
export async function copyToSecondary(request: SecondaryCopyRequest): Promise<SecondaryCopyResult> {
  const { from, to, objectKey } = request;
  const manifest = await primaryManifest(from, objectKey);
  if (request.expectedSha256 !== undefined && request.expectedSha256 !== manifest.sha256) {
    throw new SecondaryCopyVerificationFailed(`The primary manifest of ${objectKey} records SHA-256 ${manifest.sha256}, not ${request.expectedSha256} as the archived copy was reported; nothing was copied.`);
  }
  const secondaryKey = keyInPlace(objectKey, from, to);
  const secondaryManifestKey = manifestKeyFor(secondaryKey);
  const result = { bucket: to.bucket, objectKey: secondaryKey, manifestKey: secondaryManifestKey, sizeBytes: manifest.sizeBytes, sha256: manifest.sha256 };
  if (await alreadyHeld(to, secondaryKey, manifest)) return { ...result, alreadyThere: true };

  const abort = new AbortController();
  const cancel = (): void => abort.abort();
  if (request.signal?.aborted) cancel();
  request.signal?.addEventListener('abort', cancel, { once: true });
  let body: Readable;
  let contentType: string;
  try {
    const answer = await from.s3.send(new GetObjectCommand({ Bucket: from.bucket, Key: objectKey }), { abortSignal: abort.signal });
    body = answer.Body as Readable;
    contentType = manifest.contentType || answer.ContentType || 'application/octet-stream';
  } catch (error) {
    request.signal?.removeEventListener('abort', cancel);
    if (isMissing(error)) throw new PrimaryCopyMissing(`The primary copy s3://${from.bucket}/${objectKey} is missing although its manifest is there; run \`offsite verify ${manifest.target}\`. Nothing was copied.`);
    throw transientOr(error, `Reading s3://${from.bucket}/${objectKey}`);
  }

  const verifier = new StreamVerifier({ sizeBytes: manifest.sizeBytes, checksum: `sha256:${manifest.sha256}` }, { algorithm: 'sha256', hex: manifest.sha256 }, {
    subject: `the primary copy ${objectKey}`,
    authority: 'its manifest records',
  });
  const upload = new PartUpload({
    s3: to.s3,
    bucket: to.bucket,
    key: secondaryKey,
    contentType,
    partSizeBytes: request.partSizeBytes ?? partSizeFor(manifest.sizeBytes),
    partsInFlight: request.partsInFlight ?? PARTS_IN_FLIGHT,
    // A locked secondary refuses a write without a checksum (as the copier does for a locked primary).
    checksum: await partChecksum(to.s3, to.objectLock ? 'CRC32' : undefined),
    unsignedPayload: await payloadCanGoUnsigned(to.s3),
    encryption: encryptionParams(to),
  });
  let objectCompleted = false;
  try {
    await feed(body, verifier, upload, (bytes) => request.onProgress?.(bytes, manifest.sizeBytes)).catch((error: unknown) => {
      throw upload.error ?? (abort.signal.aborted ? new CopyCancelled(`The copy of ${objectKey} to the secondary was cancelled; nothing was stored.`) : error);
    });
    // Size and SHA-256 are checked before the last part goes up and the object exists.
    verifier.finish();
    await upload.complete();
    objectCompleted = true;
    const secondaryManifest: SecondaryManifest = {
      ...manifest,
      objectKey: secondaryKey,
      copiedAt: request.clock().toISOString(),
      copiedFrom: { bucket: from.bucket, objectKey },
    };
    await archiveWriter(to.s3, to.bucket, to).putJson(secondaryManifestKey, secondaryManifest);
    return { ...result, alreadyThere: false };
  } catch (error) {
    abort.abort();
    body.destroy();
    await upload.abort();
    if (objectCompleted) {
      // The bytes landed but the manifest did not: remove them so no manifest-less copy remains.
      await to.s3.send(new DeleteObjectCommand({ Bucket: to.bucket, Key: secondaryKey })).catch(() => undefined);
    }
    if (error instanceof CopyVerificationFailed) throw new SecondaryCopyVerificationFailed(`${error.message} Nothing was written to the secondary; run \`offsite verify ${manifest.target}\`.`);
    throw transientOr(error, `Copying ${objectKey} to s3://${to.bucket}/${secondaryKey}`);
  } finally {
    request.signal?.removeEventListener('abort', cancel);
  }
}

export interface CatchUpOptions {
  /** Stop taking new copies once this many bytes have been copied (the first copy is always taken, however large). */
  readonly budgetBytes: number;
  /** Stop taking new copies after this moment (the Lambda's remaining time). */
  readonly deadline?: Date;
}

export interface CatchUpSummary {
  /** Secondary keys copied in this run. */
  readonly copied: readonly { readonly target: string; readonly objectKey: string; readonly sizeBytes: number }[];
  readonly bytes: number;
  /** Copies the secondary still lacks, left for later runs (over the byte budget or out of time). */
  readonly remaining: number;
  /** Copies that could not be copied (a mismatch, a missing primary object, an S3 error): tried again next run. */
  readonly failed: readonly { readonly target: string; readonly objectKey: string; readonly error: string }[];
}

/** The primary copies the secondary lacks, or holds with another SHA-256, newest first across the targets. */
export async function copiesTheSecondaryLacks(from: SourcePlace, to: DestinationPlace, targets: readonly string[]): Promise<{ target: string; copy: ArchivedCopy }[]> {
  const lacking: { target: string; copy: ArchivedCopy }[] = [];
  for (const target of targets) {
    const [primary, secondary] = await Promise.all([listArchivedCopies(from.s3, from.bucket, from.prefix, target), listArchivedCopies(to.s3, to.bucket, to.prefix, target)]);
    const held = new Map(secondary.copies.filter((copy) => copy.objectMatchesManifest).map((copy) => [copy.manifest.objectKey, copy.manifest.sha256]));
    for (const copy of primary.copies) {
      if (held.get(keyInPlace(copy.manifest.objectKey, from, to)) !== copy.manifest.sha256) lacking.push({ target, copy });
    }
  }
  // Newest first: after an outage the copies most likely to be needed are the recent ones.
  return lacking.sort((a, b) => Date.parse(b.copy.manifest.createdAt) - Date.parse(a.copy.manifest.createdAt) || (a.copy.manifest.objectKey < b.copy.manifest.objectKey ? -1 : 1));
}

/**
 * The catch-up: copies what the secondary lacks (a CopyToSecondary that failed, copies
 * archived before the secondary was configured), newest first, up to the byte budget and
 * the deadline; the next run takes the rest.
 */
export async function catchUpSecondary(from: SourcePlace, to: DestinationPlace, targets: readonly string[], clock: Clock, options: CatchUpOptions): Promise<CatchUpSummary> {
  const lacking = await copiesTheSecondaryLacks(from, to, targets);
  const copied: { target: string; objectKey: string; sizeBytes: number }[] = [];
  const failed: { target: string; objectKey: string; error: string }[] = [];
  let bytes = 0;
  let taken = 0;
  for (const { target, copy } of lacking) {
    const size = copy.manifest.sizeBytes;
    if (taken > 0 && (bytes + size > options.budgetBytes || (options.deadline && clock() >= options.deadline))) break;
    taken += 1;
    try {
      const result = await copyToSecondary({ from, to, objectKey: copy.manifest.objectKey, clock });
      bytes += result.alreadyThere ? 0 : result.sizeBytes;
      copied.push({ target, objectKey: result.objectKey, sizeBytes: result.sizeBytes });
    } catch (error) {
      // One copy that fails must not keep the others from being copied.
      bytes += size;
      failed.push({ target, objectKey: copy.manifest.objectKey, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  }
  return { copied, bytes, remaining: lacking.length - taken, failed };
}

/** What CopyToSecondary gives the state machine (`$.secondaryCopy`). */
export type SecondaryCopyStepResult =
  | { readonly secondary: null; readonly reason: string }
  | { readonly secondary: SecondaryCopyResult & { readonly url: string } };

export const NO_SECONDARY_REASON = 'no secondary configured (archive.secondary)';

/**
 * The CopyToSecondary step: the copy CopyToArchive just archived and verified, copied into
 * the secondary; skipped when none is configured. The key must be one of the target's
 * copies in the primary (a state machine passes what CopyToArchive returned).
 */
export async function secondaryCopyStep(
  primary: SourcePlace,
  secondary: DestinationPlace | undefined,
  target: string,
  archived: { readonly objectKey: string; readonly sha256: string },
  clock: Clock,
  options: Pick<SecondaryCopyRequest, 'signal' | 'onProgress'> = {},
): Promise<SecondaryCopyStepResult> {
  if (!secondary) return { secondary: null, reason: NO_SECONDARY_REASON };
  const folder = `${primary.prefix}${target}/`;
  if (!archived.objectKey.startsWith(folder)) {
    throw new InvalidInput(`archive.objectKey: expected a key of ${target}'s copies in the primary (starting with "${folder}"), got "${archived.objectKey}"`);
  }
  const result = await copyToSecondary({ from: primary, to: secondary, objectKey: archived.objectKey, expectedSha256: archived.sha256, clock, ...options });
  return { secondary: { ...result, url: `s3://${result.bucket}/${result.objectKey}` } };
}
