// Where each target stands: its newest verified copy against its schedule. `offsite
// status` prints it; the scheduled freshness check counts the targets that are not ok.
import type { S3Client } from '@aws-sdk/client-s3';
import type { OffsiteConfig, TargetConfig } from '../config/schema';
import { kindOf } from '../kinds/registry';
import { InvalidInput } from '../shared/errors';
import { listArchivedCopies, type ArchiveListing } from './listing';
import { intervalAt, nextRun, parseSchedule, ScheduleExpressionError, type ParsedSchedule } from './freshness-schedule';
import { countsAsVerified, readVerifications, type VerificationRecords, type VerifyResult } from './verify-records';

/**
 * `ok`; `stale`: the newest verified copy is older than one schedule interval plus the
 * poll budget plus one hour (or than `freshnessHours`); `never`: scheduled, no verified
 * copy; `unscheduled`: no backup schedule, whatever it holds.
 */
export type TargetState = 'ok' | 'stale' | 'never' | 'unscheduled';

export interface TargetStatus {
  readonly name: string;
  readonly kind: string;
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

/** The status of one target from its listing and verification records, at `now`. */
export function targetStatus(target: TargetConfig, timezone: string, listing: ArchiveListing, records: VerificationRecords, now: Date): TargetStatus {
  const verified = listing.copies
    .filter((copy) => copy.objectMatchesManifest && countsAsVerified(copy.manifest.objectKey, copy.manifest.sha256, records))
    .map((copy) => ({ createdAt: copy.manifest.createdAt, sizeBytes: copy.manifest.sizeBytes }));
  // A provider's catalogue record is written once the provider reports the backup completed: it is that target's copy.
  const recorded = listing.providerRecords.map(({ record }) => ({ createdAt: record.createdAt, sizeBytes: record.sourceSizeBytes ?? 0 }));
  const newest = [...verified, ...recorded].sort((a, b) => new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime())[0];
  const copies = listing.copies.length + listing.providerRecords.length;
  const bytes = listing.copies.reduce((sum, copy) => sum + copy.manifest.sizeBytes, 0) + recorded.reduce((sum, record) => sum + record.sizeBytes, 0);

  const present = new Map(listing.copies.map((copy) => [copy.manifest.objectKey, copy.manifest.sha256]));
  const relevant = [...records].filter(([key, record]) => present.get(key) === record.expectedSha256);
  const latest = relevant.map(([, record]) => record).sort((a, b) => new Date(b.verifiedAt).getTime() - new Date(a.verifiedAt).getTime())[0];
  const badCopies = relevant.filter(([, record]) => record.result !== 'ok').length;

  const schedule = scheduleOf(target);
  const expression = (target as { schedule?: string }).schedule ?? null;
  let state: TargetState = 'unscheduled';
  let staleAt: Date | null = null;
  if (schedule) {
    if (!newest) state = 'never';
    else {
      const createdAt = new Date(newest.createdAt);
      const hours = freshnessHoursOf(target);
      const interval = hours === undefined ? intervalAt(schedule, createdAt, timezone) : null;
      const allowedMs = hours !== undefined ? hours * HOUR_MS : interval === null ? null : interval + pollBudgetMs(target) + HOUR_MS;
      staleAt = allowedMs === null ? null : new Date(createdAt.getTime() + allowedMs);
      state = staleAt !== null && now.getTime() > staleAt.getTime() ? 'stale' : 'ok';
    }
  }
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
    lastVerification: latest ? { at: latest.verifiedAt, result: latest.result } : null,
    badCopies,
  };
}

/** Every configured target's status, in configuration order. */
export async function archiveStatus(config: OffsiteConfig, s3: S3Client, now: Date): Promise<TargetStatus[]> {
  const { bucket, prefix } = config.archive;
  return Promise.all(
    config.targets.map(async (target) => {
      const [listing, records] = await Promise.all([listArchivedCopies(s3, bucket, prefix, target.name), readVerifications(s3, bucket, prefix, target.name)]);
      return targetStatus(target, config.timezone, listing, records, now);
    }),
  );
}

/** A scheduled target that is not ok: stale, or never backed up. */
export function isOverdue(status: TargetStatus): boolean {
  return status.state === 'stale' || status.state === 'never';
}
