// Retention at the provider: offsite's retention applied to the manual backups offsite
// made, and only to them. A backup is offsite's when its id is in one of offsite's
// catalogue records — never because of its description, which anyone can type — and
// it is still listed as a manual backup of the target's server. Automatic backups and
// manual ones someone else made have no record, so no decision ever names them. The
// backup lifecycle (PlanRetention + DeleteOwnBackup) and `offsite prune` both use this.
import { planRetention, type RetentionDecision } from '../../archive/retention';
import type { PruneReport, PrunedCopy } from '../../archive/prune-report';
import type { ProviderRecord } from '../../archive/manifest';
import { errorMessage } from '../../shared/errors';
import { serverIdOf, type ProviderBackup, type VpsClient } from './client';
import type { VpsTarget } from './config';
import { deleteRecord, listRecords, type ArchiveLocation } from './records';

/** One removal: the provider's backup (null when the provider no longer holds it: only the record goes) and its record. */
export interface Removal {
  readonly backupId: number | null;
  readonly manifestKey: string;
}

/** A decision over one record, with the record's key (beyond the PruneReport's fields, which allows more). */
export interface PlannedCopy extends PrunedCopy {
  readonly manifestKey: string;
}

export interface RetentionPlan {
  /** Newest first. */
  readonly copies: readonly PlannedCopy[];
  readonly remove: readonly Removal[];
}

/** Pure: decides over offsite's records against what the provider lists as the server's manual backups. */
export function planProviderRetention(
  target: VpsTarget,
  records: readonly { readonly manifestKey: string; readonly record: ProviderRecord }[],
  manualBackups: readonly ProviderBackup[],
  timeZone: string,
): RetentionPlan {
  const held = new Set(manualBackups.filter((backup) => serverIdOf(backup) === target.serverId && backup.backup_type === 'manual').map((backup) => String(backup.id)));
  const ownRecords = records.filter(({ record }) => record.target === target.name && record.sourceType === 'manual');
  const live = ownRecords.filter(({ record }) => held.has(record.sourceBackupId));
  const decisions = new Map<string, RetentionDecision>(
    planRetention(
      live.map(({ record }) => ({ id: record.sourceBackupId, createdAt: record.createdAt, protected: (record as { protected?: unknown }).protected === true })),
      target.retention,
      timeZone,
    ).map((decision) => [decision.id, decision]),
  );
  const iso = (value: string): string => {
    const time = Date.parse(value);
    return Number.isNaN(time) ? value : new Date(time).toISOString();
  };
  const copies: PlannedCopy[] = ownRecords
    .map(({ manifestKey, record }): PlannedCopy => {
      const base = { objectKey: null, manifestKey, sourceBackupId: record.sourceBackupId, createdAt: iso(record.createdAt) };
      if (!held.has(record.sourceBackupId)) return { ...base, decision: 'remove', reason: 'the provider no longer holds it: only its catalogue record goes' };
      const decision = decisions.get(record.sourceBackupId);
      return { ...base, decision: decision?.decision ?? 'keep', reason: decision?.reason ?? 'not decided: kept' };
    })
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const remove = copies
    .filter((copy) => copy.decision === 'remove')
    .map((copy) => ({ backupId: held.has(copy.sourceBackupId) ? Number(copy.sourceBackupId) : null, manifestKey: copy.manifestKey }));
  return { copies, remove };
}

/** Reads offsite's records and the server's manual backups, and plans. */
export async function planRetentionFor(client: Pick<VpsClient, 'listBackups'>, archive: ArchiveLocation, target: VpsTarget, timeZone: string): Promise<RetentionPlan> {
  const [records, manual] = await Promise.all([listRecords(archive, target.name), client.listBackups({ serverId: target.serverId, backupType: 'manual' })]);
  return planProviderRetention(target, records, manual, timeZone);
}

/** Deletes the backup at the provider (already gone counts as deleted), then its record: a record never outlives its deletion unnoticed. */
export async function removeOwnBackup(client: Pick<VpsClient, 'deleteBackup'>, archive: ArchiveLocation, removal: Removal): Promise<{ readonly backupId: number | null; readonly provider: 'deleted' | 'absent' }> {
  const provider = removal.backupId === null ? 'absent' : await client.deleteBackup(removal.backupId);
  await deleteRecord(archive, removal.manifestKey);
  return { backupId: removal.backupId, provider };
}

/** `offsite prune` for a vps target: the same plan and removal as the backup lifecycle's retention step. */
export async function pruneAtProvider(
  client: Pick<VpsClient, 'listBackups' | 'deleteBackup'>,
  archive: ArchiveLocation,
  target: VpsTarget,
  timeZone: string,
  options: { readonly dryRun: boolean },
): Promise<PruneReport> {
  const plan = await planRetentionFor(client, archive, target, timeZone);
  const outcomes = new Map<string, { done: boolean; error?: string }>();
  if (!options.dryRun) {
    for (const removal of plan.remove) {
      try {
        await removeOwnBackup(client, archive, removal);
        outcomes.set(removal.manifestKey, { done: true });
      } catch (error) {
        outcomes.set(removal.manifestKey, { done: false, error: errorMessage(error) });
      }
    }
  }
  const copies = plan.copies.map((copy) => {
    const removal = outcomes.get(copy.manifestKey);
    return removal ? { ...copy, removal } : copy;
  });
  return { target: target.name, timezone: timeZone, policy: target.retention ?? null, dryRun: options.dryRun, copies };
}
