// Where each target stands: its newest verified copy against its schedule, in each place
// (the primary, and the secondary when configured). `offsite status` prints it; the
// scheduled freshness check counts the targets that are not ok.
import type { OffsiteConfig, TargetConfig } from '../config/schema';
import { kindOf } from '../kinds/registry';
import { InvalidInput } from '../shared/errors';
import { listArchivedCopies, type ArchiveListing } from './listing';
import { intervalAt, nextRun, parseSchedule, ScheduleExpressionError, type ParsedSchedule } from './freshness-schedule';
import { keyInPlace, type ArchivePlace, type PlaceName } from './places';
import { sameBytes, secondaryHolding, secondaryView } from './secondary-holding';
import { countsAsVerified, readVerifications, type VerificationRecords, type VerifyResult } from './verify-records';

/**
 * `ok`; `stale`: the newest verified copy is older than one schedule interval plus the
 * poll budget plus one hour (or than `freshnessHours`); `never`: scheduled, no verified
 * copy; `unscheduled`: no backup schedule, whatever it holds.
 */
export type TargetState = 'ok' | 'stale' | 'never' | 'unscheduled';

/** One place's view of a target: its newest verified copy against the schedule, its copies and re-reads. */
export interface PlaceStatus {
  readonly state: TargetState;
  readonly lastCopyAt: string | null;
  readonly lastCopySizeBytes: number | null;
  readonly copies: number;
  readonly bytes: number;
  readonly staleAt: string | null;
  readonly lastVerification: { readonly at: string; readonly result: VerifyResult } | null;
  readonly badCopies: number;
  /** The secondary only: primary copies it does not hold verified (absent, other bytes, or found bad). */
  readonly missingCopies?: number;
}

export interface TargetStatus {
  readonly name: string;
  readonly kind: string;
  /** With a secondary: the worse of the two places' states (never, then stale); without, the primary's. */
  readonly state: TargetState;
  /** The newest verified copy's vendor `createdAt`; null when there is none. */
  readonly lastCopyAt: string | null;
  readonly lastCopySizeBytes: number | null;
  /** The target's manifests (archived copies and the provider's catalogue records) and their recorded sizes. */
  readonly copies: number;
  readonly bytes: number;
  /** `archive`: copies in the bucket; `provider`: catalogue records of backups the provider holds, not off-site. */
  readonly heldBy: 'archive' | 'provider' | 'none';
  readonly schedule: string | null;
  readonly nextRunAt: string | null;
  /** When the newest verified copy turns (or turned) stale; null when it cannot (no schedule interval) or there is none. */
  readonly staleAt: string | null;
  /** The latest re-read of any of its copies, and how many copies the latest re-read found bad. */
  readonly lastVerification: { readonly at: string; readonly result: VerifyResult } | null;
  readonly badCopies: number;
  /**
   * Only with `archive.secondary`: each place's own view (the fields above other than
   * `state` are the primary's); `secondary` is null for a target whose backups are not
   * archived copies (held by the provider, or an audit). `heldInBoth`: the copies that
   * count off-site twice (verified in the primary, and the secondary holds the same bytes
   * verified).
   */
  readonly places?: { readonly primary: PlaceStatus; readonly secondary: PlaceStatus | null };
  readonly heldInBoth?: number;
}

const HOUR_MS = 3_600_000;

/** A target's kind makes backups (an audit-only kind's schedule is not a backup schedule). */
function makesBackups(target: TargetConfig): boolean {
  return kindOf(target).lifecycles.some((lifecycle) => lifecycle.purpose === 'backup');
}

function pollBudgetMs(target: TargetConfig): number {
  const poll = (target as { poll?: { timeoutMinutes?: number } }).poll;
  return (poll?.timeoutMinutes ?? 0) * 60_000;
}

function freshnessHoursOf(target: TargetConfig): number | undefined {
  return (target as { freshnessHours?: number }).freshnessHours;
}

export function scheduleOf(target: TargetConfig): ParsedSchedule | undefined {
  const expression = (target as { schedule?: string }).schedule;
  if (expression === undefined || !makesBackups(target)) return undefined;
  try {
    return parseSchedule(expression);
  } catch (error) {
    if (error instanceof ScheduleExpressionError) throw new InvalidInput(`Target "${target.name}": schedule ${error.message}`);
    throw error;
  }
}

/** A target whose backups are archived copies (not catalogue records, not an audit): what a secondary holds too. */
export function archivesCopies(target: TargetConfig): boolean {
  return makesBackups(target) && kindOf(target).backup === undefined;
}

interface Dated {
  readonly createdAt: string;
  readonly sizeBytes: number;
}

/** ok / stale / never / unscheduled from the newest verified copy, and when it turns stale. */
function freshnessOf(target: TargetConfig, timezone: string, newest: Dated | undefined, now: Date): { state: TargetState; staleAt: Date | null } {
  const schedule = scheduleOf(target);
  if (!schedule) return { state: 'unscheduled', staleAt: null };
  if (!newest) return { state: 'never', staleAt: null };
  const createdAt = new Date(newest.createdAt);
  const hours = freshnessHoursOf(target);
  const interval = hours === undefined ? intervalAt(schedule, createdAt, timezone) : null;
  const allowedMs = hours !== undefined ? hours * HOUR_MS : interval === null ? null : interval + pollBudgetMs(target) + HOUR_MS;
  const staleAt = allowedMs === null ? null : new Date(createdAt.getTime() + allowedMs);
  return { state: staleAt !== null && now.getTime() > staleAt.getTime() ? 'stale' : 'ok', staleAt };
}

function newestOf(items: readonly Dated[]): Dated | undefined {
  return [...items].sort((a, b) => new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime())[0];
}

/** The latest re-read of a present copy (of the bytes its manifest names), and how many the latest re-reads found bad. */
function rereads(listing: ArchiveListing, records: VerificationRecords): Pick<PlaceStatus, 'lastVerification' | 'badCopies'> {
  const present = new Map(listing.copies.map((copy) => [copy.manifest.objectKey, copy.manifest.sha256]));
  const relevant = [...records].filter(([key, record]) => present.get(key) === record.expectedSha256);
  const latest = relevant.map(([, record]) => record).sort((a, b) => new Date(b.verifiedAt).getTime() - new Date(a.verifiedAt).getTime())[0];
  return { lastVerification: latest ? { at: latest.verifiedAt, result: latest.result } : null, badCopies: relevant.filter(([, record]) => record.result !== 'ok').length };
}

/** The status of one target from its listing and verification records, at `now`. */
export function targetStatus(target: TargetConfig, timezone: string, listing: ArchiveListing, records: VerificationRecords, now: Date): TargetStatus {
  const verified = listing.copies
    .filter((copy) => copy.objectMatchesManifest && countsAsVerified(copy.manifest.objectKey, copy.manifest.sha256, records))
    .map((copy) => ({ createdAt: copy.manifest.createdAt, sizeBytes: copy.manifest.sizeBytes }));
  // A provider's catalogue record is written once the provider reports the backup completed: it is that target's copy.
  const recorded = listing.providerRecords.map(({ record }) => ({ createdAt: record.createdAt, sizeBytes: record.sourceSizeBytes ?? 0 }));
  const newest = newestOf([...verified, ...recorded]);
  const copies = listing.copies.length + listing.providerRecords.length;
  const bytes = listing.copies.reduce((sum, copy) => sum + copy.manifest.sizeBytes, 0) + recorded.reduce((sum, record) => sum + record.sizeBytes, 0);
  const { lastVerification, badCopies } = rereads(listing, records);
  const { state, staleAt } = freshnessOf(target, timezone, newest, now);
  const schedule = scheduleOf(target);
  const expression = (target as { schedule?: string }).schedule ?? null;
  const next = schedule ? nextRun(schedule, now, timezone) : null;
  return {
    name: target.name,
    kind: target.kind,
    state,
    lastCopyAt: newest ? new Date(newest.createdAt).toISOString() : null,
    lastCopySizeBytes: newest?.sizeBytes ?? null,
    copies,
    bytes,
    heldBy: listing.copies.length > 0 ? 'archive' : listing.providerRecords.length > 0 ? 'provider' : 'none',
    schedule: schedule ? expression : null,
    nextRunAt: next ? next.toISOString() : null,
    staleAt: staleAt ? staleAt.toISOString() : null,
    lastVerification,
    badCopies,
  };
}

/** What one place holds of a target: its copies and its own verification records. */
export interface PlaceHoldings {
  readonly place: Pick<ArchivePlace, 'name' | 'prefix'>;
  readonly listing: ArchiveListing;
  readonly records: VerificationRecords;
}

const SEVERITY: Readonly<Record<TargetState, number>> = { unscheduled: 0, ok: 1, stale: 2, never: 3 };

/**
 * The status of one target held in a primary and a secondary. A secondary copy counts when
 * its object is there, no re-read found it bad and, where the primary holds the same key,
 * its manifest names the primary's bytes. The target is behind when either place is.
 */
export function targetStatusInPlaces(target: TargetConfig, timezone: string, primary: PlaceHoldings, secondary: PlaceHoldings, now: Date): TargetStatus {
  const base = targetStatus(target, timezone, primary.listing, primary.records, now);
  const primaryPlace: PlaceStatus = {
    state: base.state,
    lastCopyAt: base.lastCopyAt,
    lastCopySizeBytes: base.lastCopySizeBytes,
    copies: base.copies,
    bytes: base.bytes,
    staleAt: base.staleAt,
    lastVerification: base.lastVerification,
    badCopies: base.badCopies,
  };
  if (!archivesCopies(target)) return { ...base, places: { primary: primaryPlace, secondary: null }, heldInBoth: 0 };

  const view = secondaryView(primary.place, secondary.place, secondary.listing.copies, secondary.records);
  const primaryByCounterpart = new Map(primary.listing.copies.map((copy) => [keyInPlace(copy.manifest.objectKey, primary.place, secondary.place), copy]));
  const verified = secondary.listing.copies
    .filter((copy) => {
      const original = primaryByCounterpart.get(copy.manifest.objectKey);
      return copy.objectMatchesManifest && countsAsVerified(copy.manifest.objectKey, copy.manifest.sha256, secondary.records) && (!original || sameBytes(original, copy));
    })
    .map((copy) => ({ createdAt: copy.manifest.createdAt, sizeBytes: copy.manifest.sizeBytes }));
  const newest = newestOf(verified);
  const { state, staleAt } = freshnessOf(target, timezone, newest, now);
  const holdings = primary.listing.copies.map((copy) => ({ copy, holding: secondaryHolding(copy, view) }));
  const secondaryPlace: PlaceStatus = {
    state,
    lastCopyAt: newest ? new Date(newest.createdAt).toISOString() : null,
    lastCopySizeBytes: newest?.sizeBytes ?? null,
    copies: secondary.listing.copies.length,
    bytes: secondary.listing.copies.reduce((sum, copy) => sum + copy.manifest.sizeBytes, 0),
    staleAt: staleAt ? staleAt.toISOString() : null,
    ...rereads(secondary.listing, secondary.records),
    missingCopies: holdings.filter(({ holding }) => holding !== 'verified').length,
  };
  const heldInBoth = holdings.filter(
    ({ copy, holding }) => holding === 'verified' && copy.objectMatchesManifest && countsAsVerified(copy.manifest.objectKey, copy.manifest.sha256, primary.records),
  ).length;
  const worse = SEVERITY[secondaryPlace.state] > SEVERITY[primaryPlace.state] ? secondaryPlace.state : primaryPlace.state;
  return { ...base, state: worse, places: { primary: primaryPlace, secondary: secondaryPlace }, heldInBoth };
}

/** The places behind for a target that is not ok (both named when both are). */
export function placesBehind(status: TargetStatus): { readonly place: PlaceName; readonly state: 'stale' | 'never'; readonly lastCopyAt: string | null }[] {
  const behind: { place: PlaceName; state: 'stale' | 'never'; lastCopyAt: string | null }[] = [];
  for (const place of ['primary', 'secondary'] as const) {
    const view = status.places?.[place];
    if (view && (view.state === 'stale' || view.state === 'never')) behind.push({ place, state: view.state, lastCopyAt: view.lastCopyAt });
  }
  return behind;
}

async function holdingsIn(place: ArchivePlace, target: string): Promise<PlaceHoldings> {
  const [listing, records] = await Promise.all([listArchivedCopies(place.s3, place.bucket, place.prefix, target), readVerifications(place.s3, place.bucket, place.prefix, target)]);
  return { place, listing, records };
}

/** Every configured target's status, in configuration order, over the places given (primary first). */
export async function archiveStatus(config: OffsiteConfig, places: readonly ArchivePlace[], now: Date): Promise<TargetStatus[]> {
  const [primary, secondary] = places;
  if (!primary) throw new Error('archiveStatus: no archive place');
  return Promise.all(
    config.targets.map(async (target) => {
      const inPrimary = await holdingsIn(primary, target.name);
      if (!secondary) return targetStatus(target, config.timezone, inPrimary.listing, inPrimary.records, now);
      // A target whose backups the provider holds (or that is only audited) has nothing in the secondary to read.
      const inSecondary = archivesCopies(target) ? await holdingsIn(secondary, target.name) : { place: secondary, listing: EMPTY_LISTING, records: new Map() };
      return targetStatusInPlaces(target, config.timezone, inPrimary, inSecondary, now);
    }),
  );
}

const EMPTY_LISTING: ArchiveListing = { copies: [], providerRecords: [], withoutManifest: [], unreadableManifests: [] };

/** A scheduled target that is not ok: stale, or never backed up. */
export function isOverdue(status: TargetStatus): boolean {
  return status.state === 'stale' || status.state === 'never';
}
