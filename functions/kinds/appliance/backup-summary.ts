import type { ApplianceBackup } from './client';

/** What the state machine carries about one appliance backup (no secrets, JSON only). */
export interface BackupSummary {
  readonly backupId: string;
  readonly status: string;
  readonly statusMessage: string | null;
  readonly sizeBytes: number | null;
  /** ISO time of backup_time; null until the appliance reports it. */
  readonly backupTime: string | null;
  readonly hostname: string | null;
  readonly model: string | null;
  readonly serial: string | null;
  readonly swVersion: string | null;
  readonly description: string | null;
}

/** backup_time (epoch seconds) as ISO time; null when the appliance gives none (or 0). */
export function backupTimeOf(backup: ApplianceBackup): string | null {
  return backup.backup_time !== undefined && backup.backup_time > 0 ? new Date(backup.backup_time * 1000).toISOString() : null;
}

export function summarize(backup: ApplianceBackup): BackupSummary {
  return {
    backupId: backup.id,
    status: backup.status ?? 'unknown',
    statusMessage: backup.status_message || null,
    sizeBytes: backup.size ?? null,
    backupTime: backupTimeOf(backup),
    hostname: backup.hostname ?? null,
    model: backup.model ?? null,
    serial: backup.serial ?? null,
    swVersion: backup.sw_version ?? null,
    description: backup.description ?? null,
  };
}
