// Whether the secondary holds a primary copy: the same path under the secondary's prefix
// (keyInPlace), a manifest with the primary's size and SHA-256 (the copy was checked
// against them in the stream), and no re-read since that found it bad. Only then does the
// backup count as off-site twice.
import type { ArchivedCopy } from './listing';
import { keyInPlace, type ArchivePlace } from './places';
import { countsAsVerified, type VerificationRecords } from './verify-records';

/**
 * `verified`: held, and no re-read found it bad; `missing`: no manifest there (or its object
 * is absent or of another size); `differs`: its manifest names other bytes than the primary's,
 * or its latest re-read found it differing.
 */
export type SecondaryHolding = 'verified' | 'missing' | 'differs';

export interface SecondaryView {
  readonly primary: Pick<ArchivePlace, 'prefix'>;
  readonly secondary: Pick<ArchivePlace, 'prefix'>;
  /** The secondary's copies of the target, by object key. */
  readonly copies: ReadonlyMap<string, ArchivedCopy>;
  readonly records: VerificationRecords;
}

export function secondaryView(primary: Pick<ArchivePlace, 'prefix'>, secondary: Pick<ArchivePlace, 'prefix'>, copies: readonly ArchivedCopy[], records: VerificationRecords): SecondaryView {
  return { primary, secondary, copies: new Map(copies.map((copy) => [copy.manifest.objectKey, copy])), records };
}

/** The secondary's copy of a primary copy, when it has one under the same path. */
export function counterpartOf(primaryCopy: Pick<ArchivedCopy, 'manifest'>, view: SecondaryView): ArchivedCopy | undefined {
  return view.copies.get(keyInPlace(primaryCopy.manifest.objectKey, view.primary, view.secondary));
}

/** Same bytes by the manifests: the secondary's copy is of this backup, not of another under the same key. */
export function sameBytes(a: Pick<ArchivedCopy, 'manifest'>, b: Pick<ArchivedCopy, 'manifest'>): boolean {
  return a.manifest.sha256 === b.manifest.sha256 && a.manifest.sizeBytes === b.manifest.sizeBytes;
}

export function secondaryHolding(primaryCopy: Pick<ArchivedCopy, 'manifest'>, view: SecondaryView): SecondaryHolding {
  const counterpart = counterpartOf(primaryCopy, view);
  if (!counterpart || !counterpart.objectMatchesManifest) return 'missing';
  if (!sameBytes(primaryCopy, counterpart)) return 'differs';
  const { objectKey, sha256 } = counterpart.manifest;
  if (countsAsVerified(objectKey, sha256, view.records)) return 'verified';
  return view.records.get(objectKey)?.result === 'missing' ? 'missing' : 'differs';
}
