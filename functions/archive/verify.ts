// Re-reading archived copies: size and SHA-256 recomputed from the stored bytes and
// compared with the manifest. Reads stream through the hash (constant memory, whatever
// the copy's size); nothing is deleted or rewritten. What each read found is recorded
// apart from the copies (verify-records.ts).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../shared/clock';
import { listArchivedCopies, type ArchivedCopy, type ArchiveListing } from './listing';
import { keyInPlace, type ArchivePlace, type PlaceName } from './places';
import { sameBytes } from './secondary-holding';
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
export async function checkCopy(s3: S3Client, bucket: string, copy: { readonly manifest: Pick<ArchivedCopy['manifest'], 'objectKey' | 'sizeBytes' | 'sha256'> }): Promise<CopyCheck> {
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

/** One copy in one place, as `offsite verify --json` prints it. */
export interface PlacedCopyCheck extends CopyCheck {
  readonly place: PlaceName;
  /**
   * `primary`: `expected` is the primary's manifest — on a copy the secondary lacks
   * (`missing`), or whose manifest names other bytes than the primary's (`differs`).
   */
  readonly expectedFrom?: 'primary';
}

/** Reads every copy of one place's listing back and records what each read found in that place. */
async function verifyListing(archive: ArchiveLocation, target: string, listing: ArchiveListing, clock: Clock, onCheck: (check: CopyCheck, copy: ArchivedCopy) => void): Promise<void> {
  const results = new Map<string, Verification>();
  for (const copy of listing.copies) {
    const check = await checkCopy(archive.s3, archive.bucket, copy);
    // What is recorded is the read against the place's own manifest: each place's records
    // mean the same thing, whatever the other place holds.
    results.set(check.objectKey, verificationOf(check, clock()));
    onCheck(check, copy);
  }
  if (listing.copies.length > 0) {
    await recordVerifications(archive.s3, archive.bucket, archive.prefix, target, results, new Set(listing.copies.map((copy) => copy.manifest.objectKey)), archive);
  }
}

export interface PlacesVerifyReport {
  readonly target: string;
  /** The primary's copies, then the secondary's (and the primary copies it lacks, as `missing`). */
  readonly copies: readonly PlacedCopyCheck[];
  readonly unreadableManifests: readonly { readonly place: PlaceName; readonly manifestKey: string }[];
}

/**
 * `offsite verify` over every place (primary first): each place's copies are read back
 * against its own manifests and recorded in its own records. In the secondary, a primary
 * copy it lacks (by keyInPlace) is `missing`, and a copy whose manifest names other bytes
 * than the primary's is `differs`, expected being the primary's size and SHA-256: it is
 * not a second copy of that backup.
 */
export async function verifyTargetInPlaces(places: readonly ArchivePlace[], target: string, clock: Clock, onCopy?: (check: PlacedCopyCheck) => void): Promise<PlacesVerifyReport> {
  const [primary, ...others] = places;
  if (!primary) throw new Error('verifyTargetInPlaces: no archive place');
  const copies: PlacedCopyCheck[] = [];
  const unreadableManifests: { place: PlaceName; manifestKey: string }[] = [];
  const emit = (check: PlacedCopyCheck): void => {
    copies.push(check);
    onCopy?.(check);
  };
  const primaryListing = await listArchivedCopies(primary.s3, primary.bucket, primary.prefix, target);
  unreadableManifests.push(...primaryListing.unreadableManifests.map((manifestKey) => ({ place: primary.name, manifestKey })));
  await verifyListing(primary, target, primaryListing, clock, (check) => emit({ ...check, place: primary.name }));
  for (const place of others) {
    const listing = await listArchivedCopies(place.s3, place.bucket, place.prefix, target);
    unreadableManifests.push(...listing.unreadableManifests.map((manifestKey) => ({ place: place.name, manifestKey })));
    const held = new Set(listing.copies.map((copy) => copy.manifest.objectKey));
    const primaryByKey = new Map(primaryListing.copies.map((copy) => [keyInPlace(copy.manifest.objectKey, primary, place), copy]));
    await verifyListing(place, target, listing, clock, (check, copy) => {
      const original = primaryByKey.get(copy.manifest.objectKey);
      if (!original || sameBytes(original, copy)) return emit({ ...check, place: place.name });
      const expected = { sizeBytes: original.manifest.sizeBytes, sha256: original.manifest.sha256 };
      return emit({ ...check, place: place.name, result: check.result === 'missing' ? 'missing' : 'differs', expected, expectedFrom: 'primary' });
    });
    for (const [objectKey, original] of primaryByKey) {
      if (held.has(objectKey)) continue;
      const { sizeBytes, sha256 } = original.manifest;
      emit({ objectKey, place: place.name, result: 'missing', expected: { sizeBytes, sha256 }, actual: { sizeBytes: null, sha256: null }, expectedFrom: 'primary' });
    }
  }
  return { target, copies, unreadableManifests };
}

export interface VerifyRunSummary {
  /** Copies read in this run. */
  readonly checked: number;
  readonly bytes: number;
  readonly ok: number;
  /** Object keys found differing or missing, with the place that holds them. */
  readonly bad: readonly { readonly place: PlaceName; readonly target: string; readonly objectKey: string; readonly result: 'differs' | 'missing' }[];
  /** Copies left for later runs (over the byte budget or out of time). */
  readonly remaining: number;
  /** Copies a read error (throttling, a dropped connection) kept from being checked: not a verdict on them, tried again next run. */
  readonly unread: readonly { readonly place: PlaceName; readonly target: string; readonly objectKey: string; readonly error: string }[];
  /**
   * Primary copies the secondary does not hold (yet): the copy step or its catch-up copies
   * them; not a bad copy (a secondary added to a full archive lacks everything at first).
   * `offsite verify` and `offsite status` name them. 0 without a secondary.
   */
  readonly notInSecondary: number;
}

export interface VerifyRunOptions {
  /** Stop taking new copies once this many bytes have been read (the first copy is always read, however large). */
  readonly budgetBytes: number;
  /** Stop taking new copies after this moment (the Lambda's remaining time). */
  readonly deadline?: Date;
}

/** A place to verify: the primary, or the secondary. */
export type VerifyPlace = ArchiveLocation & { readonly name: PlaceName };

/**
 * The scheduled verify: across all targets and every place, the copies whose last good
 * verification (a re-read, or the copy itself) is oldest are read first, up to one byte
 * budget; the next run goes on where this one stopped, because what it read is now the
 * newest-verified. Each place's results are recorded in that place's own records.
 */
export async function verifyOldestFirst(places: readonly VerifyPlace[], targets: readonly string[], clock: Clock, options: VerifyRunOptions): Promise<VerifyRunSummary> {
  const [primary] = places;
  const queue: { place: VerifyPlace; target: string; copy: ArchivedCopy; lastVerified: string }[] = [];
  const present = new Map<VerifyPlace, Map<string, Set<string>>>();
  let notInSecondary = 0;
  for (const target of targets) {
    const primaryKeys: string[] = [];
    for (const place of places) {
      const [listing, records] = await Promise.all([listArchivedCopies(place.s3, place.bucket, place.prefix, target), readVerifications(place.s3, place.bucket, place.prefix, target)]);
      const keys = new Set(listing.copies.map((copy) => copy.manifest.objectKey));
      const forPlace = present.get(place) ?? new Map<string, Set<string>>();
      forPlace.set(target, keys);
      present.set(place, forPlace);
      if (place === primary) primaryKeys.push(...keys);
      else if (primary) notInSecondary += primaryKeys.filter((key) => !keys.has(keyInPlace(key, primary, place))).length;
      for (const copy of listing.copies) {
        queue.push({ place, target, copy, lastVerified: lastVerifiedAt(copy.manifest.objectKey, copy.manifest.sha256, copy.manifest.copiedAt, records) });
      }
    }
  }
  // Oldest first; on a tie the primary first, then by key, so runs are repeatable.
  queue.sort(
    (a, b) =>
      new Date(a.lastVerified).getTime() - new Date(b.lastVerified).getTime() ||
      places.indexOf(a.place) - places.indexOf(b.place) ||
      a.copy.manifest.objectKey.localeCompare(b.copy.manifest.objectKey),
  );

  const results = new Map<VerifyPlace, Map<string, Map<string, Verification>>>();
  const bad: { place: PlaceName; target: string; objectKey: string; result: 'differs' | 'missing' }[] = [];
  const unread: { place: PlaceName; target: string; objectKey: string; error: string }[] = [];
  let bytes = 0;
  let checked = 0;
  let ok = 0;
  for (const { place, target, copy } of queue) {
    if (checked > 0 && (bytes + copy.manifest.sizeBytes > options.budgetBytes || (options.deadline && clock() >= options.deadline))) break;
    let check: CopyCheck;
    try {
      check = await checkCopy(place.s3, place.bucket, copy);
    } catch (error) {
      // One copy that could not be read must not keep the bad ones found so far (or still
      // to come) from being recorded and alarmed on.
      unread.push({ place: place.name, target, objectKey: copy.manifest.objectKey, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      continue;
    }
    checked += 1;
    bytes += check.actual.sizeBytes ?? 0;
    if (check.result === 'ok') ok += 1;
    else bad.push({ place: place.name, target, objectKey: check.objectKey, result: check.result });
    const forPlace = results.get(place) ?? new Map<string, Map<string, Verification>>();
    const forTarget = forPlace.get(target) ?? new Map<string, Verification>();
    forTarget.set(check.objectKey, verificationOf(check, clock()));
    forPlace.set(target, forTarget);
    results.set(place, forPlace);
  }
  for (const [place, forPlace] of results) {
    for (const [target, forTarget] of forPlace) {
      await recordVerifications(place.s3, place.bucket, place.prefix, target, forTarget, present.get(place)?.get(target) ?? new Set(), place);
    }
  }
  return { checked, bytes, ok, bad, remaining: queue.length - checked - unread.length, unread, notInSecondary };
}

export { DEFAULT_VERIFY, verifySettings } from './freshness-names';
