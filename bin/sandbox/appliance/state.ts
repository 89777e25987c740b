// What the appliance simulator holds: its backups, its restore history and the faults a
// test armed. A backup's status is computed from the wall clock at read time (no
// timers, so nothing keeps running after stop()).
import { randomBytes, randomUUID } from 'node:crypto';
import { FaultQueue } from '../kit/faults';
import { byId } from '../kit/http';
import { generateBackupFile, type BackupMetadata } from './backup-file';
import type { ApplianceInfo, ApplianceSimulatorOptions, RecordedApplianceRequest, SimulatedBackup } from './index';

type BackupStatus = SimulatedBackup['status'];
export type RestoreOutcome = 'completed' | 'completed_with_errors' | 'failed';

export interface RestoreStatus {
  last_restore_time: number;
  status: 'not_run' | 'started' | RestoreOutcome;
  status_message: string;
}

export interface BackupRecord {
  id: string;
  description: string;
  /** The appliance identity and time the file carries (for uploads: what the file says). */
  metadata: BackupMetadata;
  createdMs: number;
  origin: 'created' | 'seed' | 'uploaded';
  /** Set for a backup that is going to fail (or, for an upload, did). */
  failMessage?: string;
  /** Cached file bytes; for uploads, the bytes received. */
  bytes?: Buffer;
}

const UPLOADING_FROM = 0.3;
const SECONDS_PER_DAY = 86_400;
export const DEFAULT_MESSAGES: Record<RestoreOutcome, string> = {
  completed: '',
  completed_with_errors: 'Restore completed with errors: 2 configuration items could not be applied',
  failed: 'Restore failed: the backup could not be applied; the previous configuration is still active',
};
const NOT_RUN: RestoreStatus = { last_restore_time: 0, status: 'not_run', status_message: '' };

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export class ApplianceState {
  readonly info: ApplianceInfo;
  records: BackupRecord[] = [];
  storageLimit: number;
  rebootWindowMs: number;
  private rebootUntilMs = 0;
  readonly restores: Array<{ backupId: string; sha256: string; startedAt: number }> = [];
  /** Every HTTP request answered, without header values or bodies. */
  readonly requests: RecordedApplianceRequest[] = [];

  // What the control methods arm.
  readonly failMessages = new FaultQueue<string>();
  readonly lostCreateAnswers = new FaultQueue<number>();
  readonly failingDeletes = new FaultQueue<number>();
  readonly uploadResets = new FaultQueue<number>();
  restoreOutcome: { status: RestoreOutcome; message: string } = { status: 'completed', message: '' };
  staleReadsSetting = 0;
  pinnedRestoreTime: number | undefined;
  /** What the appliance reports after the next restore (a restore that brought other software or another host name). */
  nextRestoreInfo: Partial<Pick<ApplianceInfo, 'hostname' | 'sw_version'>> | undefined;

  private settledRestoreStatus: RestoreStatus;
  /** The latest restore's outcome, until restore_status has shown it. */
  private pendingRestoreStatus: { status: RestoreStatus; staleReads: number } | undefined;

  private readonly backupDurationMs: number;
  private readonly backupSizeBytes: number;
  private readonly uploadProcessingMs: number;

  constructor(options: ApplianceSimulatorOptions) {
    this.info = {
      hostname: options.info?.hostname ?? 'ar11-lab',
      model: options.info?.model ?? 'SCAN-AR-VE',
      serial: options.info?.serial ?? `VE${randomBytes(5).toString('hex').toUpperCase()}`,
      sw_version: options.info?.sw_version ?? '11.12.0',
    };
    this.backupDurationMs = options.backupDurationMs ?? 1500;
    this.backupSizeBytes = options.backupSizeBytes ?? 256 * 1024;
    this.uploadProcessingMs = options.uploadProcessingMs ?? 0;
    this.storageLimit = options.storageLimit ?? 2;
    this.rebootWindowMs = options.rebootWindowMs ?? 1500;
    const previous = options.previousRestore;
    this.settledRestoreStatus = previous
      ? { last_restore_time: previous.last_restore_time, status: previous.status, status_message: previous.status_message ?? DEFAULT_MESSAGES[previous.status] }
      : { ...NOT_RUN };

    // Nightly scheduler backups around 01:00 UTC on the previous days.
    const startOfToday = Math.floor(nowSeconds() / SECONDS_PER_DAY) * SECONDS_PER_DAY;
    for (let night = 1; night <= (options.seedBackups ?? 0); night++) {
      const backupTime = startOfToday - night * SECONDS_PER_DAY + 3600 + Math.floor(Math.random() * 1800);
      this.addRecord({ description: 'nightly (appliance scheduler)', createdMs: backupTime * 1000, origin: 'seed' });
    }
  }

  // -- backups --------------------------------------------------------------------

  /** A new backup of this appliance as it is now, taken at createdMs. */
  addRecord(fields: Omit<BackupRecord, 'id' | 'metadata'>, metadata?: BackupMetadata): BackupRecord {
    const id = randomUUID();
    const record: BackupRecord = { id, ...fields, metadata: metadata ?? { ...this.info, backup_time: Math.floor(fields.createdMs / 1000), id } };
    this.records.push(record);
    return record;
  }

  find(id: string): BackupRecord | undefined {
    return this.records.find((candidate) => candidate.id === id);
  }

  /**
   * `started`, then `uploading` from 30% of backupDurationMs, then `completed`; one told to
   * fail stays `started` for the whole duration and then reads `failed`. An upload reads
   * `uploading` for uploadProcessingMs, then `completed`.
   */
  statusOf(record: BackupRecord, now: number): BackupStatus {
    if (record.origin === 'uploaded') {
      if (record.failMessage !== undefined) return 'failed';
      return now - record.createdMs >= this.uploadProcessingMs ? 'completed' : 'uploading';
    }
    if (record.origin !== 'created') return 'completed';
    const elapsed = now - record.createdMs;
    if (record.failMessage !== undefined) return elapsed >= this.backupDurationMs ? 'failed' : 'started';
    if (elapsed >= this.backupDurationMs) return 'completed';
    return elapsed >= UPLOADING_FROM * this.backupDurationMs ? 'uploading' : 'started';
  }

  /** The backup that is running now, if any. */
  running(now: number): BackupRecord | undefined {
    return this.records.find((record) => {
      const status = this.statusOf(record, now);
      return status === 'started' || status === 'uploading';
    });
  }

  bytesOf(record: BackupRecord): Buffer {
    record.bytes ??= generateBackupFile(record.metadata, this.backupSizeBytes);
    return record.bytes;
  }

  view(record: BackupRecord, now: number): SimulatedBackup {
    const status = this.statusOf(record, now);
    return {
      backup_time: record.metadata.backup_time,
      description: record.description,
      hostname: record.metadata.hostname,
      id: record.id,
      model: record.metadata.model,
      serial: record.metadata.serial,
      size: status === 'completed' ? this.bytesOf(record).length : 0,
      status,
      status_message: status === 'failed' ? (record.failMessage ?? '') : '',
      sw_version: record.metadata.sw_version,
      uploaded: record.origin === 'uploaded',
    };
  }

  /** The API's backup object (the simulator's own `uploaded` flag left out). */
  apiItem(record: BackupRecord, now: number): Omit<SimulatedBackup, 'uploaded'> {
    const { uploaded: _uploaded, ...item } = this.view(record, now);
    return item;
  }

  views(now: number): SimulatedBackup[] {
    return byId(this.records).map((record) => this.view(record, now));
  }

  apiItems(now: number): Array<Omit<SimulatedBackup, 'uploaded'>> {
    return byId(this.records).map((record) => this.apiItem(record, now));
  }

  // -- reboots and restores -------------------------------------------------------

  rebooting(): boolean {
    return Date.now() < this.rebootUntilMs;
  }

  /** The appliance goes down for rebootWindowMs from now. */
  startReboot(): void {
    this.rebootUntilMs = Date.now() + this.rebootWindowMs;
  }

  private settlePendingRestore(): void {
    if (this.pendingRestoreStatus) this.settledRestoreStatus = this.pendingRestoreStatus.status;
    this.pendingRestoreStatus = undefined;
  }

  /** Records a restore of the backup (whose bytes hash to sha256) and answers when it started, in epoch seconds. */
  beginRestore(record: BackupRecord, sha256: string): number {
    const startedAt = this.pinnedRestoreTime ?? nowSeconds();
    this.restores.push({ backupId: record.id, sha256, startedAt });
    // The API is down for the reboot, so the new identity is only ever seen after it.
    Object.assign(this.info, this.nextRestoreInfo);
    this.nextRestoreInfo = undefined;
    this.settlePendingRestore();
    this.pendingRestoreStatus = {
      status: { last_restore_time: startedAt, status: this.restoreOutcome.status, status_message: this.restoreOutcome.message },
      staleReads: this.staleReadsSetting,
    };
    return startedAt;
  }

  /** Backups and restore history gone; credentials stay, so the sandbox stays usable. */
  resetFactory(): void {
    this.records = [];
    this.pendingRestoreStatus = undefined;
    this.settledRestoreStatus = { ...NOT_RUN };
  }

  /** What restore_status reads now: the previous restore for as many stale reads as were set, then the latest. */
  readRestoreStatus(): RestoreStatus {
    if (this.pendingRestoreStatus) {
      if (this.pendingRestoreStatus.staleReads > 0) this.pendingRestoreStatus.staleReads -= 1;
      else this.settlePendingRestore();
    }
    return { ...this.settledRestoreStatus };
  }
}
