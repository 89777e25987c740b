// What the NetBox Cloud simulator holds, and how it reads through the API at a given
// moment. Timestamps are computed from the wall clock at read time (no timers, so
// nothing keeps running after stop()) and only appear once they have happened.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { deterministicChunks } from '../kit/bytes';
import { FaultQueue } from '../kit/faults';
import { byId } from '../kit/http';
import type { BackupItem, BackupRequestItem, NetboxCloudSimulatorOptions, RecordedRequest, RestoreJobItem, RetrievalItem } from './index';

export const MICROS_PER_MS = 1000;
export const MICROS_PER_SECOND = 1_000_000;
export const MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND;
const CREATED_BY = 'sandbox-user@example.com';

/** Wall-clock time in microseconds: the API reports microsecond timestamps. */
export function nowMicros(): number {
  return Date.now() * MICROS_PER_MS;
}

/** A creation time with a sub-millisecond part, so timestamps look like the real ones. */
function creationMicros(): number {
  return nowMicros() + Math.floor(Math.random() * MICROS_PER_MS);
}

export function formatMicros(micros: number): string {
  const wholeMicros = Math.round(micros);
  const millis = Math.floor(wholeMicros / MICROS_PER_MS);
  const subMillis = wholeMicros - millis * MICROS_PER_MS;
  return `${new Date(millis).toISOString().slice(0, 23)}${String(subMillis).padStart(3, '0')}Z`;
}

/** Shows a timestamp only once it has happened. */
function happened(micros: number | null, now: number): string | null {
  return micros !== null && micros <= now ? formatMicros(micros) : null;
}

export interface InstanceState {
  id: string;
  version: string;
  versionAvailable: boolean;
  restoreOutcome: 'completed' | 'failed';
}

interface SeedBackup {
  id: string;
  objId: string;
  objVersion: string;
  createdMicros: number;
  durationSeconds: number;
}

interface BackupRequestRecord {
  id: string;
  objId: string;
  objVersion: string;
  backupId: string;
  createdMicros: number;
  startedMicros: number;
  /** null while the simulator is told to never complete requests. */
  completedMicros: number | null;
}

export interface RetrievalRecord {
  id: string;
  backupId: string;
  backupVersion: string;
  fileName: string;
  signature: string;
  createdMicros: number;
  startedMicros: number;
  completedMicros: number;
  expiresMicros: number;
}

interface RestoreJobRecord {
  id: string;
  retrievalId: string;
  targetNbId: string;
  targetVersionAvailable: boolean;
  createdMicros: number;
  startedMicros: number;
  finishedMicros: number;
  outcome: 'completed' | 'failed';
  redeployedMicros: number;
}

/** An armed failNext: what the matching request gets instead of its answer. */
export interface Fault {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  html?: string;
  afterHandling: boolean;
  dropConnection: boolean;
}

export type DownloadCorruption = 'extra-bytes' | 'flipped-byte';

type VisibleBackup = { item: BackupItem; createdMicros: number };

export class NetboxCloudState {
  readonly apiKey: string;
  readonly orgId: string;
  readonly backupSizeBytes: number;
  readonly defaultPageSize: number;
  /** Origin of this simulator, once it listens; presigned URLs point here. */
  baseUrl = '';

  readonly instances = new Map<string, InstanceState>();
  private readonly seedBackups: SeedBackup[] = [];
  private readonly backupRequests: BackupRequestRecord[] = [];
  readonly retrievals: RetrievalRecord[] = [];
  private readonly restoreJobs: RestoreJobRecord[] = [];
  private readonly checksums = new Map<string, string>();
  private requestsNeverComplete = false;

  /** Every API request received (not downloads), without its Authorization header. */
  readonly requests: RecordedRequest[] = [];

  // What the control methods arm.
  readonly faults = new FaultQueue<Fault>();
  readonly repeatedPages: Array<{ pathIncludes: string; totalPages: number }> = [];
  readonly downloadDisconnects = new FaultQueue<number>();
  readonly downloadCorruptions = new FaultQueue<DownloadCorruption>();
  presignedOrigin: string | undefined;

  private readonly backupRequestDurationMicros: number;
  private readonly retrievalDurationMicros: number;
  private readonly restoreDurationMicros: number;
  private readonly redeployDelayMicros: number;
  private readonly retrievalTtlMicros: number;
  private readonly triggerIdForRequests: boolean;
  private readonly checksumForm: 'sha256' | 'md5' | 'opaque';

  constructor(options: NetboxCloudSimulatorOptions) {
    this.apiKey = options.apiKey ?? randomBytes(20).toString('hex');
    this.orgId = options.orgId ?? 'org-sandbox';
    this.backupRequestDurationMicros = (options.backupRequestDurationMs ?? 1500) * MICROS_PER_MS;
    this.retrievalDurationMicros = (options.retrievalDurationMs ?? 1000) * MICROS_PER_MS;
    this.restoreDurationMicros = (options.restoreDurationMs ?? 1500) * MICROS_PER_MS;
    this.redeployDelayMicros = (options.redeployDelayMs ?? 300) * MICROS_PER_MS;
    this.retrievalTtlMicros = (options.retrievalTtlMs ?? 3 * 60 * 60 * 1000) * MICROS_PER_MS;
    this.backupSizeBytes = options.backupSizeBytes ?? 256 * 1024;
    this.defaultPageSize = options.defaultPageSize ?? 100;
    this.triggerIdForRequests = options.triggerIdForRequests ?? true;
    this.checksumForm = options.checksumForm ?? 'sha256';

    for (const instance of options.instances ?? [
      { id: 'nb-a12ff000777', version: '4.2.9' },
      { id: 'nb-b23ff000888', version: '4.2.9' },
    ]) {
      this.instances.set(instance.id, { id: instance.id, version: instance.version, versionAvailable: instance.versionAvailable ?? true, restoreOutcome: 'completed' });
    }
    const startOfToday = Math.floor(nowMicros() / MICROS_PER_DAY) * MICROS_PER_DAY;
    for (const instance of this.instances.values()) {
      for (let daysAgo = 1; daysAgo <= (options.seedBackupsPerInstance ?? 3); daysAgo++) {
        // Nightly "scheduled" backups around 01:00 UTC, like the document's example.
        const jitter = Math.floor(Math.random() * 30 * 60 * MICROS_PER_SECOND);
        this.seedBackups.push({
          id: randomUUID(),
          objId: instance.id,
          objVersion: instance.version,
          createdMicros: startOfToday - daysAgo * MICROS_PER_DAY + 60 * 60 * MICROS_PER_SECOND + jitter,
          durationSeconds: 30 + Math.floor(Math.random() * 40),
        });
      }
    }
  }

  // -- backup files ---------------------------------------------------------------

  /** Bytes of a backup file as served (deterministic pseudo-random per backup id). */
  backupChunks(backupId: string, start: number, endExclusive: number): Generator<Buffer> {
    return deterministicChunks(`netbox-cloud-simulator:${backupId}`, start, endExclusive);
  }

  knownBackupIds(): Set<string> {
    return new Set([...this.seedBackups.map((seed) => seed.id), ...this.backupRequests.map((request) => request.backupId)]);
  }

  private checksumOf(backupId: string): string {
    const cached = this.checksums.get(backupId);
    if (cached !== undefined) return cached;
    let checksum: string;
    if (this.checksumForm === 'opaque') {
      checksum = `nbc1:${createHash('sha256').update(`opaque:${backupId}`).digest('base64url').slice(0, 27)}`;
    } else {
      const hash = createHash(this.checksumForm);
      for (const chunk of this.backupChunks(backupId, 0, this.backupSizeBytes)) hash.update(chunk);
      checksum = hash.digest('hex');
    }
    this.checksums.set(backupId, checksum);
    return checksum;
  }

  // -- what the API shows ---------------------------------------------------------

  private backupFromRequest(request: BackupRequestRecord, completedMicros: number): VisibleBackup {
    // The backup record is written while the request runs, shortly before it completes.
    const createdMicros = Math.round(request.startedMicros + 0.8 * (completedMicros - request.startedMicros));
    const item: BackupItem = {
      id: request.backupId,
      obj_id: request.objId,
      obj_type: 'netbox',
      obj_version: request.objVersion,
      trigger_id: this.triggerIdForRequests ? request.id : '',
      trigger_type: 'manual',
      checksum: this.checksumOf(request.backupId),
      size_bytes: this.backupSizeBytes,
      duration: Math.round((createdMicros - request.startedMicros) / MICROS_PER_SECOND),
      created: formatMicros(createdMicros),
    };
    return { item, createdMicros };
  }

  /** Backups as the API shows them now, with their creation time for date filters; a request's backup only once the request has completed. */
  visibleBackups(now: number): VisibleBackup[] {
    const visible = this.seedBackups.map((seed): VisibleBackup => ({
      createdMicros: seed.createdMicros,
      item: {
        id: seed.id,
        obj_id: seed.objId,
        obj_type: 'netbox',
        obj_version: seed.objVersion,
        trigger_id: '',
        trigger_type: 'scheduled',
        checksum: this.checksumOf(seed.id),
        size_bytes: this.backupSizeBytes,
        duration: seed.durationSeconds,
        created: formatMicros(seed.createdMicros),
      },
    }));
    for (const request of this.backupRequests) {
      if (request.completedMicros !== null && request.completedMicros <= now) {
        visible.push(this.backupFromRequest(request, request.completedMicros));
      }
    }
    return visible.sort((a, b) => (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));
  }

  backupRequestItems(now: number): BackupRequestItem[] {
    return byId(this.backupRequests).map((request) => ({
      id: request.id,
      obj_id: request.objId,
      obj_type: 'netbox',
      created: formatMicros(request.createdMicros),
      started: happened(request.startedMicros, now),
      completed: happened(request.completedMicros, now),
    }));
  }

  private presignedUrl(retrieval: RetrievalRecord): string {
    const query = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `ASIASIMULATOR/${formatMicros(retrieval.completedMicros).slice(0, 10).replaceAll('-', '')}/us-east-1/s3/aws4_request`,
      'X-Amz-Date': formatMicros(retrieval.completedMicros).replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z'),
      'X-Amz-Expires': String(Math.round(this.retrievalTtlMicros / MICROS_PER_SECOND)),
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': retrieval.signature,
    });
    return `${this.presignedOrigin ?? this.baseUrl}/presigned/${retrieval.id}/${encodeURIComponent(retrieval.fileName)}?${query.toString()}`;
  }

  retrievalItems(now: number): RetrievalItem[] {
    return byId(this.retrievals).map((retrieval) => {
      const complete = retrieval.completedMicros <= now;
      return {
        id: retrieval.id,
        backup_id: retrieval.backupId,
        backup_version: retrieval.backupVersion,
        presigned_url: complete ? this.presignedUrl(retrieval) : null,
        created: formatMicros(retrieval.createdMicros),
        created_by: CREATED_BY,
        started: happened(retrieval.startedMicros, now),
        completed: happened(retrieval.completedMicros, now),
        expires: complete ? formatMicros(retrieval.expiresMicros) : null,
      };
    });
  }

  /** Restore jobs, only those for `targetNbId` when it is given. */
  restoreJobItems(now: number, targetNbId?: string): RestoreJobItem[] {
    return byId(this.restoreJobs)
      .filter((job) => targetNbId === undefined || job.targetNbId === targetNbId)
      .map((job) => ({
        id: job.id,
        retrieval_id: job.retrievalId,
        target_nb_id: job.targetNbId,
        target_version_available: job.targetVersionAvailable,
        created: formatMicros(job.createdMicros),
        created_by: CREATED_BY,
        started: happened(job.startedMicros, now),
        completed: job.outcome === 'completed' ? happened(job.finishedMicros, now) : null,
        failed: job.outcome === 'failed' ? happened(job.finishedMicros, now) : null,
        nb_redeployed: job.outcome === 'completed' ? happened(job.redeployedMicros, now) : null,
      }));
  }

  // -- what the API creates -------------------------------------------------------

  /** A backup request for the instance; its backup appears once it completes. Answers its id. */
  addBackupRequest(instance: InstanceState): string {
    const createdMicros = creationMicros();
    const request: BackupRequestRecord = {
      id: randomUUID(),
      objId: instance.id,
      objVersion: instance.version,
      backupId: randomUUID(),
      createdMicros,
      startedMicros: createdMicros + Math.round(this.backupRequestDurationMicros / 10),
      completedMicros: this.requestsNeverComplete ? null : createdMicros + this.backupRequestDurationMicros,
    };
    this.backupRequests.push(request);
    return request.id;
  }

  /** A retrieval of a listed backup, whose presigned URL appears once it completes. Answers its id. */
  addRetrieval(backup: BackupItem): string {
    const createdMicros = creationMicros();
    const completedMicros = createdMicros + this.retrievalDurationMicros;
    const retrieval: RetrievalRecord = {
      id: randomUUID(),
      backupId: backup.id,
      backupVersion: backup.obj_version,
      fileName: `${backup.obj_id}_${backup.created.slice(0, 19).replace(/[-:]/g, '')}_${backup.id}.tar.gz`,
      signature: randomBytes(32).toString('hex'),
      createdMicros,
      startedMicros: createdMicros + Math.round(this.retrievalDurationMicros / 10),
      completedMicros,
      expiresMicros: completedMicros + this.retrievalTtlMicros,
    };
    this.retrievals.push(retrieval);
    return retrieval.id;
  }

  /** A restore job onto the target, ending as the target's restore outcome says. Answers its id. */
  addRestoreJob(retrieval: RetrievalRecord, target: InstanceState): string {
    const createdMicros = creationMicros();
    const finishedMicros = createdMicros + this.restoreDurationMicros;
    const job: RestoreJobRecord = {
      id: randomUUID(),
      retrievalId: retrieval.id,
      targetNbId: target.id,
      targetVersionAvailable: target.versionAvailable,
      createdMicros,
      startedMicros: createdMicros + Math.round(this.restoreDurationMicros / 10),
      finishedMicros,
      outcome: target.restoreOutcome,
      redeployedMicros: finishedMicros + this.redeployDelayMicros,
    };
    this.restoreJobs.push(job);
    return job.id;
  }

  // -- what the control methods change --------------------------------------------

  requireInstance(instanceId: string): InstanceState {
    const instance = this.instances.get(instanceId);
    if (!instance) throw new Error(`Unknown simulated instance "${instanceId}"; known: ${[...this.instances.keys()].join(', ')}`);
    return instance;
  }

  neverCompleteBackupRequests(value: boolean): void {
    const now = nowMicros();
    this.requestsNeverComplete = value;
    for (const request of this.backupRequests) {
      if (value && (request.completedMicros === null || request.completedMicros > now)) {
        request.completedMicros = null;
      } else if (!value && request.completedMicros === null) {
        // Held requests resume from now, so `completed` never lands in the past.
        request.completedMicros = Math.max(now, request.startedMicros) + Math.round(this.backupRequestDurationMicros * 0.9);
      }
    }
  }

  expireRetrievals(): void {
    const now = nowMicros();
    for (const retrieval of this.retrievals) {
      if (retrieval.completedMicros <= now) retrieval.expiresMicros = Math.min(retrieval.expiresMicros, now);
    }
  }
}
