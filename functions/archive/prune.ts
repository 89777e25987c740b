// Applying a target's retention to its archived copies. Only copies with a manifest
// count, and a copy's time is its manifest's createdAt. Removal deletes the manifest
// first, then the object, so a half-done removal never leaves something that looks like
// a backup; a removal that fails is reported and, since the copy (or its leftover object)
// is still there, tried again by the next prune.
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { listArchivedCopies, type ArchivedCopy } from './listing';
import { isArchiveObjectKey, MANIFEST_SUFFIX, manifestKeyFor } from './manifest';
import { keyInPlace, type ArchivePlace } from './places';
import type { PrunedCopy, PruneReport, RetentionPolicy } from './prune-report';
import { readProtections, type CopyProtection } from './prune-protection';
import { planRetention } from './retention';

export interface PruneArchiveOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly target: string;
  readonly policy: RetentionPolicy | undefined;
  readonly timezone: string;
  /** archive.objectLock is set: legal holds protect, and a copy under retention is `locked`. */
  readonly objectLock: boolean;
  readonly dryRun: boolean;
  readonly now: Date;
  /** Parallel reads of the copies' marks. */
  readonly concurrency?: number;
  /**
   * Object keys (in this place) of copies protected in another place: protected here too.
   * A copy reaching the secondary after `offsite protect` arrives without the mark, and
   * retention must not remove there what the operator said to keep.
   */
  readonly protectedElsewhere?: ReadonlySet<string>;
}

export interface LeftoverRemoval {
  readonly objectKey: string;
  readonly done: boolean;
  readonly error?: string;
}

export interface PruneOutcome {
  readonly report: PruneReport;
  /**
   * Objects without a manifest older than LEFTOVER_AGE_MS: the object of an earlier removal
   * whose second delete failed, or of a copy that died before its manifest. Not backups;
   * removed (outside a dry run) so a failed removal does finish next time.
   */
  readonly leftovers: readonly LeftoverRemoval[];
}

/** A copy writes its manifest seconds after its object (a copy runs 15 minutes at most); a day is well clear of a copy in progress. */
export const LEFTOVER_AGE_MS = 24 * 60 * 60 * 1000;

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The decisions for copies whose marks are known; pure, so the plan is tested (and benchmarked) without S3. */
export function planArchivePrune(
  copies: readonly ArchivedCopy[],
  protections: ReadonlyMap<string, CopyProtection>,
  options: Pick<PruneArchiveOptions, 'policy' | 'timezone' | 'objectLock' | 'now'>,
): PrunedCopy[] {
  const byManifest = new Map(copies.map((copy) => [copy.manifestKey, copy]));
  const decisions = planRetention(
    copies.map((copy) => ({ id: copy.manifestKey, createdAt: copy.manifest.createdAt, protected: protections.get(copy.manifestKey)?.protected ?? false })),
    options.policy,
    options.timezone,
  );
  return decisions.map((decision): PrunedCopy => {
    const copy = byManifest.get(decision.id);
    if (!copy) throw new Error(`retention returned an unknown copy ${decision.id}`);
    const protection = protections.get(decision.id);
    const base = { objectKey: copy.manifest.objectKey, sourceBackupId: copy.manifest.sourceBackupId, createdAt: new Date(copy.manifest.createdAt).toISOString() };
    if (decision.decision === 'protected' && protection?.unreadable) {
      return { ...base, decision: 'protected', reason: `its protected mark could not be read (${protection.unreadable}): treated as protected` };
    }
    // With Object Lock, S3 refuses to delete a version before its retain-until date (a
    // plain delete would only hide it behind a delete marker while it stays billed and
    // undeletable), so such a copy is reported `locked` and removed by a later prune.
    // Assumed: the object's own retention decides; the manifest, written seconds later,
    // has the same default retention and so ends at about the same time.
    const retainUntil = protection?.retainUntil;
    if (decision.decision === 'remove' && options.objectLock && retainUntil && new Date(retainUntil).getTime() > options.now.getTime()) {
      return { ...base, decision: 'locked', reason: `Object Lock retention until ${retainUntil} (retention would remove it: ${decision.reason})` };
    }
    return { ...base, decision: decision.decision, reason: decision.reason };
  });
}

/**
 * Objects an interrupted removal (or copy) left without a manifest: only keys in the shape
 * offsite's copies have, with no manifest key beside them at all (a manifest that exists
 * but could not be read keeps its object), and older than LEFTOVER_AGE_MS.
 */
async function listLeftovers(s3: S3Client, bucket: string, prefix: string, target: string, described: ReadonlySet<string>, now: Date): Promise<string[]> {
  const objects: { key: string; lastModified: Date | undefined }[] = [];
  const keys = new Set<string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}${target}/`, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (!object.Key) continue;
      keys.add(object.Key);
      objects.push({ key: object.Key, lastModified: object.LastModified });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects
    .filter(({ key }) => !key.endsWith(MANIFEST_SUFFIX) && isArchiveObjectKey(prefix, target, key) && !described.has(key) && !keys.has(manifestKeyFor(key)))
    .filter(({ lastModified }) => lastModified !== undefined && now.getTime() - lastModified.getTime() > LEFTOVER_AGE_MS)
    .map(({ key }) => key);
}

/** Manifest first, then the object: after a failure in between, what remains is no backup (and a leftover the next prune removes). */
async function removeCopy(s3: S3Client, bucket: string, copy: ArchivedCopy): Promise<{ done: boolean; error?: string }> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: copy.manifestKey }));
  } catch (error) {
    return { done: false, error: `the manifest could not be removed (${describeError(error)}); the copy is untouched` };
  }
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: copy.manifest.objectKey }));
  } catch (error) {
    return { done: false, error: `the manifest is removed but the object could not be (${describeError(error)}); it is no longer a backup and the next prune removes it` };
  }
  return { done: true };
}

export async function pruneArchive(options: PruneArchiveOptions): Promise<PruneOutcome> {
  const { s3, bucket, target } = options;
  const listing = await listArchivedCopies(s3, bucket, options.prefix, target);
  const byObject = await readProtections(s3, bucket, listing.copies.map((copy) => copy.manifest.objectKey), options.objectLock, options.concurrency);
  const marks = new Map<string, CopyProtection>();
  for (const copy of listing.copies) {
    const mark = byObject.get(copy.manifest.objectKey);
    const elsewhere = options.protectedElsewhere?.has(copy.manifest.objectKey) ?? false;
    if (mark || elsewhere) marks.set(copy.manifestKey, { retainUntil: null, ...mark, protected: (mark?.protected ?? false) || elsewhere });
  }
  const planned = planArchivePrune(listing.copies, marks, options);
  const report = (copies: readonly PrunedCopy[]): PruneReport => ({ target, timezone: options.timezone, policy: options.policy ?? null, dryRun: options.dryRun, copies });
  const described = new Set(listing.copies.map((copy) => copy.manifest.objectKey));
  const leftoverKeys = await listLeftovers(s3, bucket, options.prefix, target, described, options.now);
  if (options.dryRun) return { report: report(planned), leftovers: leftoverKeys.map((objectKey) => ({ objectKey, done: false })) };

  const byObjectKey = new Map(listing.copies.map((copy) => [copy.manifest.objectKey, copy]));
  const copies: PrunedCopy[] = [];
  for (const decided of planned) {
    const copy = decided.objectKey === null ? undefined : byObjectKey.get(decided.objectKey);
    if (decided.decision !== 'remove' || !copy) {
      copies.push(decided);
      continue;
    }
    copies.push({ ...decided, removal: await removeCopy(s3, bucket, copy) });
  }
  const leftovers: LeftoverRemoval[] = [];
  for (const objectKey of leftoverKeys) {
    try {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey }));
      leftovers.push({ objectKey, done: true });
    } catch (error) {
      leftovers.push({ objectKey, done: false, error: describeError(error) });
    }
  }
  return { report: report(copies), leftovers };
}

/** The keys, in `to`, of the copies the primary's prune found protected. */
function protectedKeys(primaryOutcome: PruneOutcome | undefined, from: ArchivePlace, to: ArchivePlace): Set<string> {
  const keys = (primaryOutcome?.report.copies ?? []).filter((copy) => copy.decision === 'protected' && copy.objectKey !== null).map((copy) => copy.objectKey as string);
  return new Set(keys.filter((key) => key.startsWith(from.prefix)).map((key) => keyInPlace(key, from, to)));
}

/** One place's prune: its own listing, its own marks and its own Object Lock. */
export interface PlacePruneOutcome extends PruneOutcome {
  readonly place: ArchivePlace;
}

/**
 * The target's retention applied in every place (the primary first, then the secondary),
 * each planned from its own listing and its own marks: the secondary may lag behind the
 * primary (a copy not yet caught up) or hold a copy the primary lost, and a copy locked or
 * held in one place says nothing about the other. One exception: a copy protected in the
 * primary is protected in the others too (it may have reached them after the mark). A removal failing in one place does not
 * stop the other; the report names each.
 */
export async function prunePlaces(
  places: readonly ArchivePlace[],
  options: Omit<PruneArchiveOptions, 's3' | 'bucket' | 'prefix' | 'objectLock'>,
): Promise<PlacePruneOutcome[]> {
  const outcomes: PlacePruneOutcome[] = [];
  const [primary] = places;
  for (const place of places) {
    // What the primary protects stays protected in the other places (keyInPlace), whatever their own marks say.
    const protectedInPrimary = primary && place !== primary ? protectedKeys(outcomes[0], primary, place) : undefined;
    const outcome = await pruneArchive({ ...options, s3: place.s3, bucket: place.bucket, prefix: place.prefix, objectLock: place.objectLock, ...(protectedInPrimary ? { protectedElsewhere: protectedInPrimary } : {}) });
    outcomes.push({ ...outcome, place });
  }
  return outcomes;
}

/**
 * The report `offsite prune --json` prints: the primary's as before (docs/design.md,
 * "Command line"), and the secondary's copies under `secondary` when one is configured.
 */
export function placesReport(outcomes: readonly PlacePruneOutcome[]): PruneReport {
  const [primary, ...others] = outcomes;
  if (!primary) throw new Error('prune ran in no place');
  const secondary = others.find((outcome) => outcome.place.name === 'secondary');
  return secondary ? { ...primary.report, secondary: { place: 'secondary', url: secondary.place.url, copies: secondary.report.copies } } : primary.report;
}

/** Copies whose removal was tried and failed (exit 1 / a failed backup step), in the primary's report or the secondary's. */
export function failedRemovals(report: Pick<PruneReport, 'copies'>): PrunedCopy[] {
  return report.copies.filter((copy) => copy.removal?.done === false);
}

const STEP_LIST_LIMIT = 50;

/**
 * What the PruneArchive step puts in the execution's state: counts, and what was kept
 * (rule and period), removed and left, each list cut at 50 so the state stays far below
 * Step Functions' 256 KB however many copies a target has.
 */
export function pruneStepSummary(outcome: PruneOutcome) {
  const { report } = outcome;
  const entries = (decision: PrunedCopy['decision'], filter: (copy: PrunedCopy) => boolean = () => true) => {
    const all = report.copies.filter((copy) => copy.decision === decision && filter(copy));
    return { count: all.length, copies: all.slice(0, STEP_LIST_LIMIT).map((copy) => ({ objectKey: copy.objectKey, createdAt: copy.createdAt, reason: copy.reason })) };
  };
  const failed = failedRemovals(report);
  const failedLeftovers = outcome.leftovers.filter((leftover) => !leftover.done);
  return {
    target: report.target,
    timezone: report.timezone,
    policy: report.policy,
    kept: entries('keep'),
    protected: entries('protected'),
    locked: entries('locked'),
    removed: entries('remove', (copy) => copy.removal?.done === true),
    removalFailed: { count: failed.length, copies: failed.slice(0, STEP_LIST_LIMIT).map((copy) => ({ objectKey: copy.objectKey, error: copy.removal?.error ?? '' })) },
    leftoversRemoved: outcome.leftovers.filter((leftover) => leftover.done).length,
    leftoversFailed: failedLeftovers.length,
    /** One line for the failure's Cause when something could not be removed. */
    failureSummary:
      failed.length + failedLeftovers.length === 0
        ? ''
        : `${[...failed.map((copy) => `${copy.objectKey ?? copy.sourceBackupId}: ${copy.removal?.error ?? ''}`), ...failedLeftovers.map((l) => `${l.objectKey} (leftover): ${l.error ?? ''}`)].slice(0, 10).join('; ')}`,
  };
}

/**
 * PruneArchive's output with a secondary: the primary's summary as before, the secondary's
 * under `secondary`, and the failure counts the ASL's IsArchivePruneComplete reads
 * (removalFailed, leftoversFailed, failureSummary) over both places, so a removal failing
 * in either fails the step.
 */
export function placesStepSummary(outcomes: readonly PlacePruneOutcome[]) {
  const [primary, ...others] = outcomes;
  if (!primary) throw new Error('prune ran in no place');
  const summary = pruneStepSummary(primary);
  const secondaryOutcome = others.find((outcome) => outcome.place.name === 'secondary');
  if (!secondaryOutcome) return summary;
  const secondary = pruneStepSummary(secondaryOutcome);
  const failed = [
    ...summary.removalFailed.copies.map((copy) => ({ ...copy, place: 'primary' as const })),
    ...secondary.removalFailed.copies.map((copy) => ({ ...copy, place: 'secondary' as const })),
  ];
  return {
    ...summary,
    removalFailed: { count: summary.removalFailed.count + secondary.removalFailed.count, copies: failed.slice(0, STEP_LIST_LIMIT) },
    leftoversFailed: summary.leftoversFailed + secondary.leftoversFailed,
    failureSummary: [summary.failureSummary, secondary.failureSummary && `in the secondary ${secondaryOutcome.place.url}: ${secondary.failureSummary}`].filter(Boolean).join('; '),
    secondary: {
      url: secondaryOutcome.place.url,
      kept: secondary.kept,
      protected: secondary.protected,
      locked: secondary.locked,
      removed: secondary.removed,
      removalFailed: secondary.removalFailed,
      leftoversRemoved: secondary.leftoversRemoved,
      leftoversFailed: secondary.leftoversFailed,
    },
  };
}
