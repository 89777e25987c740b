// Drill freshness: a target with a drill schedule must have a drill that passed within one
// schedule interval plus the restore's poll budget plus one hour (as for copies). `offsite
// status` shows it per target; the hourly freshness check counts the overdue ones.
import type { S3Client } from '@aws-sdk/client-s3';
import { intervalAt, parseSchedule } from '../archive/freshness-schedule';
import type { OffsiteConfig, TargetConfig } from '../config/schema';
import { readDrillHistory, type DrillHistory } from './report';

const HOUR_MS = 3_600_000;

export type DrillState = 'ok' | 'overdue' | 'never' | 'unscheduled' | 'none';

export interface DrillStatus {
  readonly name: string;
  /** `none`: no drill configured; `unscheduled`: a drill without a schedule; `never`: scheduled, none passed yet. */
  readonly state: DrillState;
  readonly schedule: string | null;
  readonly lastPassedAt: string | null;
  readonly lastOutcome: string | null;
  readonly overdueAt: string | null;
}

function drillOf(target: TargetConfig): { readonly schedule?: string } | undefined {
  return (target as { drill?: { schedule?: string } }).drill;
}

export function drillStatus(target: TargetConfig, timezone: string, history: DrillHistory, now: Date): DrillStatus {
  const drill = drillOf(target);
  const base = { name: target.name, schedule: drill?.schedule ?? null, lastPassedAt: history.lastPassed?.finishedAt ?? null, lastOutcome: history.last?.outcome ?? null };
  if (!drill) return { ...base, state: 'none', overdueAt: null };
  if (drill.schedule === undefined) return { ...base, state: 'unscheduled', overdueAt: null };
  if (!history.lastPassed) return { ...base, state: 'never', overdueAt: null };
  const passedAt = new Date(history.lastPassed.finishedAt);
  const interval = intervalAt(parseSchedule(drill.schedule), passedAt, timezone);
  if (interval === null) return { ...base, state: 'ok', overdueAt: null };
  const budgetMs = ((target as { poll?: { timeoutMinutes?: number } }).poll?.timeoutMinutes ?? 0) * 60_000;
  const overdueAt = new Date(passedAt.getTime() + interval + budgetMs + HOUR_MS);
  return { ...base, state: now.getTime() > overdueAt.getTime() ? 'overdue' : 'ok', overdueAt: overdueAt.toISOString() };
}

export function isDrillOverdue(status: DrillStatus): boolean {
  return status.state === 'overdue' || status.state === 'never';
}

/** Every configured target's drill status, in configuration order (targets without a drill: `none`). */
export async function drillStatuses(config: OffsiteConfig, s3: S3Client, now: Date): Promise<DrillStatus[]> {
  const { bucket, prefix } = config.archive;
  return Promise.all(
    config.targets.map(async (target) =>
      drillStatus(target, config.timezone, drillOf(target) ? await readDrillHistory(s3, bucket, prefix, target.name) : { last: null, lastPassed: null }, now),
    ),
  );
}
