// The first step of every drill, before any vendor call: is a drill configured, is its
// destination not the production target, which copy does it restore, and with what input.
import type { ArchiveListing, ArchivedCopy } from '../archive/listing';
import { keyInPlace, type ArchivePlace } from '../archive/places';
import { countsAsVerified, type VerificationRecords } from '../archive/verify-records';
import type { OffsiteConfig, TargetConfig } from '../config/schema';
import type { JsonObject } from '../kinds/kind';
import { kindOf } from '../kinds/registry';
import { DrillRefused, InvalidInput, NoCopyToDrill } from '../shared/errors';
import type { DrillCopy, KindDrillRules } from './rules';

export interface DrillPlan {
  readonly target: string;
  readonly kind: string;
  /** In words: "instance nb-…", "appliance lab-01", "server 67890". */
  readonly destination: string;
  readonly copy: DrillCopy;
  readonly restoreInput: JsonObject;
  readonly startedAt: string;
}

/** The kind's drill rules and the target's drill, or the exit-2 reasons: none configured, or onto the production target. */
export function drillRulesFor<T extends TargetConfig>(config: Pick<OffsiteConfig, 'targets'>, target: T): { rules: KindDrillRules<T>; destination: string } {
  const rules = kindOf(target).drill;
  if (!rules) throw new InvalidInput(`drill is not available for ${target.kind} targets (${target.name}): the kind cannot restore.`);
  const destination = rules.destination(target);
  if (destination === undefined) throw new InvalidInput(`Target "${target.name}" has no drill configured: add "drill": { "to": … } to it.`);
  const refusal = rules.refusal(target, { targets: config.targets.map((candidate) => ({ name: candidate.name, kind: candidate.kind, ...('baseUrl' in candidate ? { baseUrl: candidate.baseUrl } : {}) })) });
  if (refusal) throw new DrillRefused(`Nothing was restored: ${refusal}.`);
  return { rules, destination };
}

/** The archive's secondary as a drill reads it: its listing and verification records of the target. */
export interface SecondaryCopies {
  readonly primary: Pick<ArchivePlace, 'prefix'>;
  readonly secondary: Pick<ArchivePlace, 'prefix'>;
  readonly listing: ArchiveListing;
  readonly records: VerificationRecords;
}

/**
 * The copies a drill may restore, newest first: each backup's primary copy when it is
 * there and verified, else its secondary copy when that is (the same fallback a restore
 * makes; the restore's upload reads whichever it gets through SHA-256 again).
 */
function drillableCopies(listing: ArchiveListing, records: VerificationRecords, secondary: SecondaryCopies | undefined): ArchivedCopy[] {
  const verified = (copies: ArchiveListing, marks: VerificationRecords) =>
    copies.copies.filter((candidate) => candidate.objectMatchesManifest && countsAsVerified(candidate.manifest.objectKey, candidate.manifest.sha256, marks));
  const primaryCopies = verified(listing, records);
  if (!secondary) return primaryCopies;
  const inPrimary = new Set(primaryCopies.map((copy) => copy.manifest.objectKey));
  const onlySecondary = verified(secondary.listing, secondary.records).filter((copy) => !inPrimary.has(keyInPlace(copy.manifest.objectKey, secondary.secondary, secondary.primary)));
  return [...primaryCopies, ...onlySecondary].sort((a, b) => Date.parse(b.manifest.createdAt) - Date.parse(a.manifest.createdAt));
}

/** The newest copy the drill may restore: verified where it is archived (verify never found it bad), or the newest catalogue record. */
export function newestDrillCopy(target: TargetConfig, from: 'archive' | 'provider', listing: ArchiveListing, records: VerificationRecords, secondary?: SecondaryCopies): DrillCopy {
  if (from === 'provider') {
    const newest = listing.providerRecords[0];
    if (!newest) throw new NoCopyToDrill(`${target.name} has no catalogued backup to drill (run a backup first).`);
    const { record } = newest;
    return { objectKey: null, manifestKey: newest.manifestKey, sourceBackupId: record.sourceBackupId, createdAt: record.createdAt, sha256: null, storage: 'provider', source: record.source };
  }
  const [copy] = drillableCopies(listing, records, secondary);
  if (!copy) throw new NoCopyToDrill(`${target.name} has no verified archived copy to drill (run a backup first; a copy verify found bad does not count).`);
  const { manifest } = copy;
  return { objectKey: manifest.objectKey, manifestKey: copy.manifestKey, sourceBackupId: manifest.sourceBackupId, createdAt: manifest.createdAt, sha256: manifest.sha256, storage: 'archive', source: manifest.source };
}

export function planDrill(
  config: Pick<OffsiteConfig, 'targets'>,
  target: TargetConfig,
  listing: ArchiveListing,
  records: VerificationRecords,
  now: Date,
  secondary?: SecondaryCopies,
): DrillPlan {
  const { rules, destination } = drillRulesFor(config, target);
  const copy = newestDrillCopy(target, rules.copies, listing, records, secondary);
  return { target: target.name, kind: target.kind, destination, copy, restoreInput: rules.restoreInput(target, copy), startedAt: now.toISOString() };
}
