// Re-reading archived copies: size and SHA-256 recomputed from the stored bytes and
// compared with the manifest. Reads stream through the hash (constant memory, whatever
// the copy's size); nothing is deleted or rewritten. What each read found is recorded
// apart from the copies (verify-records.ts).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../shared/clock';
import { listArchivedCopies, type ArchivedCopy } from './listing';
import { lastVerifiedAt, readVerifications, recordVerifications, type Verification, type VerifyResult } from './verify-records';

export type { VerifyResult } from './verify-records';

/** One copy as `offsite verify --json` prints it. */
export interface CopyCheck {
  readonly objectKey: string;
  readonly result: VerifyResult;
  readonly expected: { readonly sizeBytes: number; readonly sha256: string };
  /** What the store holds; nulls when the object is missing. */
  readonly actual: { readonly sizeBytes: number | null; readonly sha256: string | null };
}

export interface VerifyReport {
  readonly target: string;
  readonly copies: readonly CopyCheck[];
}

export interface ArchiveLocation {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** The place's KMS key, the verification records are written with. */
  readonly kmsKeyArn?: string | undefined;
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}

/**
 * Reads one copy back through SHA-256. A missing object is a result; any other error
 * (throttling, a dropped connection) is thrown: it says nothing about the copy.
 */
export async function checkCopy(s3: S3Client, bucket: string, copy: Pick<ArchivedCopy, 'manifest'>): Promise<CopyCheck> {
  const { objectKey, sizeBytes, sha256 } = copy.manifest;
  const expected = { sizeBytes, sha256 };
  let body: Readable;
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
    body = answer.Body as Readable;
  } catch (error) {
    if (isMissing(error)) return { objectKey, result: 'missing', expected, actual: { sizeBytes: null, sha256: null } };
    throw error;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    hash.update(buffer);
  }
  const actual = { sizeBytes: bytes, sha256: hash.digest('hex') };
  return { objectKey, result: actual.sizeBytes === sizeBytes && actual.sha256 === sha256 ? 'ok' : 'differs', expected, actual };
}

function verificationOf(check: CopyCheck, at: Date): Verification {
  return { verifiedAt: at.toISOString(), result: check.result, expectedSha256: check.expected.sha256, actualSizeBytes: check.actual.sizeBytes, actualSha256: check.actual.sha256 };
}

/** Reads every archived copy of the target back and records what each read found. */
export async function verifyTarget(archive: ArchiveLocation, target: string, clock: Clock, onCopy?: (check: CopyCheck) => void): Promise<VerifyReport & { readonly unreadableManifests: readonly string[] }> {
  const listing = await listArchivedCopies(archive.s3, archive.bucket, archive.prefix, target);
  const checks: CopyCheck[] = [];
  const results = new Map<string, Verification>();
  for (const copy of listing.copies) {
    const check = await checkCopy(archive.s3, archive.bucket, copy);
    checks.push(check);
    results.set(check.objectKey, verificationOf(check, clock()));
    onCopy?.(check);
  }
  if (listing.copies.length > 0) {
    await recordVerifications(archive.s3, archive.bucket, archive.prefix, target, results, new Set(listing.copies.map((copy) => copy.manifest.objectKey)), archive);
  }
  return { target, copies: checks, unreadableManifests: listing.unreadableManifests };
}

export interface VerifyRunSummary {
  /** Copies read in this run. */
  readonly checked: number;
  readonly bytes: number;
  readonly ok: number;
  /** Object keys found differing or missing. */
  readonly bad: readonly { readonly target: string; readonly objectKey: string; readonly result: 'differs' | 'missing' }[];
  /** Copies left for later runs (over the byte budget or out of time). */
  readonly remaining: number;
  /** Copies a read error (throttling, a dropped connection) kept from being checked: not a verdict on them, tried again next run. */
  readonly unread: readonly { readonly target: string; readonly objectKey: string; readonly error: string }[];
}

export interface VerifyRunOptions {
  /** Stop taking new copies once this many bytes have been read (the first copy is always read, however large). */
  readonly budgetBytes: number;
  /** Stop taking new copies after this moment (the Lambda's remaining time). */
  readonly deadline?: Date;
}

/**
 * The scheduled verify: across all targets, the copies whose last good verification (a
 * re-read, or the copy itself) is oldest are read first, up to the byte budget; the next
 * run goes on where this one stopped, because what it read is now the newest-verified.
 */
export async function verifyOldestFirst(archive: ArchiveLocation, targets: readonly string[], clock: Clock, options: VerifyRunOptions): Promise<VerifyRunSummary> {
  const queue: { target: string; copy: ArchivedCopy; lastVerified: string }[] = [];
  const present = new Map<string, Set<string>>();
  for (const target of targets) {
    const [listing, records] = await Promise.all([listArchivedCopies(archive.s3, archive.bucket, archive.prefix, target), readVerifications(archive.s3, archive.bucket, archive.prefix, target)]);
    present.set(target, new Set(listing.copies.map((copy) => copy.manifest.objectKey)));
    for (const copy of listing.copies) {
      queue.push({ target, copy, lastVerified: lastVerifiedAt(copy.manifest.objectKey, copy.manifest.sha256, copy.manifest.copiedAt, records) });
    }
  }
  queue.sort((a, b) => new Date(a.lastVerified).getTime() - new Date(b.lastVerified).getTime() || a.copy.manifest.objectKey.localeCompare(b.copy.manifest.objectKey));

  const results = new Map<string, Map<string, Verification>>();
  const bad: { target: string; objectKey: string; result: 'differs' | 'missing' }[] = [];
  const unread: { target: string; objectKey: string; error: string }[] = [];
  let bytes = 0;
  let checked = 0;
  let ok = 0;
  for (const { target, copy } of queue) {
    if (checked > 0 && (bytes + copy.manifest.sizeBytes > options.budgetBytes || (options.deadline && clock() >= options.deadline))) break;
    let check: CopyCheck;
    try {
      check = await checkCopy(archive.s3, archive.bucket, copy);
    } catch (error) {
      // One copy that could not be read must not keep the bad ones found so far (or still
      // to come) from being recorded and alarmed on.
      unread.push({ target, objectKey: copy.manifest.objectKey, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      continue;
    }
    checked += 1;
    bytes += check.actual.sizeBytes ?? 0;
    if (check.result === 'ok') ok += 1;
    else bad.push({ target, objectKey: check.objectKey, result: check.result });
    const forTarget = results.get(target) ?? new Map<string, Verification>();
    forTarget.set(check.objectKey, verificationOf(check, clock()));
    results.set(target, forTarget);
  }
  for (const [target, forTarget] of results) {
    await recordVerifications(archive.s3, archive.bucket, archive.prefix, target, forTarget, present.get(target) ?? new Set(), archive);
  }
  return { checked, bytes, ok, bad, remaining: queue.length - checked - unread.length, unread };
}

export { DEFAULT_VERIFY, verifySettings } from './freshness-names';
