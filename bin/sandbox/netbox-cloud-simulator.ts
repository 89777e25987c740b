// A local stand-in for the NetBox Cloud Backups API (v2), built from
// ../shared/api-docs/netbox-cloud-backups-api.txt and the facts in DESIGN.md.
//
// Where the document is silent the simulator picks the behaviour that is hardest on a
// client, so that a client which works here does not lean on undocumented luck:
// - list order is not documented, so lists come back sorted by id (a random UUID),
//   never newest-first;
// - timestamps only appear once they have happened, computed from the wall clock at
//   read time (no timers, so nothing keeps running after stop());
// - a new backup shows up in the backups list only once its request has completed.
import { createCipheriv, createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOn } from './kit/listen';

export interface SimulatedInstance {
  id: string;
  version: string;
  versionAvailable?: boolean;
}

export interface NetboxCloudSimulatorOptions {
  host?: string;
  port?: number;
  apiKey?: string;
  orgId?: string;
  instances?: SimulatedInstance[];
  /** Time from POST until the request has `completed`; `started` is set ~1/10 of it after `created`. */
  backupRequestDurationMs?: number;
  retrievalDurationMs?: number;
  /** Time from POST until the job has `completed` (or `failed`). */
  restoreDurationMs?: number;
  /** Time from a restore job's `completed` until its `nb_redeployed` (default 300). */
  redeployDelayMs?: number;
  /** How long a presigned URL stays valid after the retrieval completes (default 3 h). */
  retrievalTtlMs?: number;
  backupSizeBytes?: number;
  seedBackupsPerInstance?: number;
  defaultPageSize?: number;
  /** true: a backup produced by a request has trigger_id = request id; false: ''. */
  triggerIdForRequests?: boolean;
  checksumForm?: 'sha256' | 'md5' | 'opaque';
}

export interface BackupItem {
  id: string;
  obj_id: string;
  obj_type: 'netbox';
  obj_version: string;
  trigger_id: string;
  trigger_type: 'scheduled' | 'manual';
  checksum: string;
  size_bytes: number;
  duration: number;
  created: string;
}

export interface BackupRequestItem {
  id: string;
  obj_id: string;
  obj_type: 'netbox';
  created: string;
  started: string | null;
  completed: string | null;
}

export interface RetrievalItem {
  id: string;
  backup_id: string;
  backup_version: string;
  presigned_url: string | null;
  created: string;
  created_by: string;
  started: string | null;
  completed: string | null;
  expires: string | null;
}

export interface RestoreJobItem {
  id: string;
  retrieval_id: string;
  target_nb_id: string;
  target_version_available: boolean;
  created: string;
  created_by: string;
  started: string | null;
  completed: string | null;
  failed: string | null;
  nb_redeployed: string | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorized: boolean;
}

export interface FaultMatch {
  method?: string;
  pathIncludes: string;
}

export interface FaultOptions {
  times?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Answer with this HTML page (text/html) instead of a JSON body, as a gateway in front of the API does. */
  html?: string;
  /**
   * Handle the request as usual first (a POST still creates its request, retrieval or
   * job), then send the fault instead of the real answer: the answer is lost on the way back.
   */
  afterHandling?: boolean;
  /** Close the connection without any answer (after handling, when afterHandling is set). */
  dropConnection?: boolean;
}

/** A gateway's 502 page as nginx sends it, padded like the real ones (well over any quoted length). */
export const GATEWAY_502_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n' +
  '<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n'.repeat(6);

export interface RepeatedPagesOptions {
  /** What the repeated pages claim as total_pages (default 1,000,000). */
  totalPages?: number;
}

export interface NetboxCloudSimulator {
  readonly url: string;
  readonly apiKey: string;
  readonly orgId: string;
  stop(): Promise<void>;
  /** Every API request received (not downloads). The Authorization header is never kept. */
  readonly requests: ReadonlyArray<RecordedRequest>;
  /** Bytes of a backup file as served (deterministic pseudo-random per backup id). */
  backupBytes(backupId: string): Buffer;
  listBackups(): ReadonlyArray<BackupItem>;
  listBackupRequests(): ReadonlyArray<BackupRequestItem>;
  listRetrievals(): ReadonlyArray<RetrievalItem>;
  listRestoreJobs(): ReadonlyArray<RestoreJobItem>;
  failNext(match: FaultMatch, status: number, options?: FaultOptions): void;
  /**
   * From now on every page of the matching list repeats page 1 (current_page still echoes
   * the page asked for) and claims more pages: last_page false, a huge total_pages.
   */
  repeatFirstPage(pathIncludes: string, options?: RepeatedPagesOptions): void;
  setVersionAvailable(instanceId: string, available: boolean): void;
  /** Applies to restore jobs created from now on. */
  setRestoreOutcome(instanceId: string, outcome: 'completed' | 'failed'): void;
  neverCompleteBackupRequests(value: boolean): void;
  disconnectDownloadAfter(bytes: number, times?: number): void;
  corruptNextDownload(mode: 'extra-bytes' | 'flipped-byte'): void;
  /**
   * Hands out presigned URLs on another origin, e.g. http://169.254.169.254 (the cloud
   * metadata service), until called without one. Nothing is served there.
   */
  presignedUrlOrigin(origin: string | undefined): void;
  expireRetrievals(): void;
}

const MICROS_PER_MS = 1000;
const MICROS_PER_SECOND = 1_000_000;
const MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND;
const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
const DOWNLOAD_CHUNK_BYTES = 64 * 1024;
const EXTRA_BYTES_APPENDED = 17;
const CREATED_BY = 'sandbox-user@example.com';
/** Marks a request body that was not valid JSON (distinct from every JSON value). */
const MALFORMED: unique symbol = Symbol('malformed-json');

/** Wall-clock time in microseconds: the API reports microsecond timestamps. */
function nowMicros(): number {
  return Date.now() * MICROS_PER_MS;
}

/** A creation time with a sub-millisecond part, so timestamps look like the real ones. */
function creationMicros(): number {
  return nowMicros() + Math.floor(Math.random() * MICROS_PER_MS);
}

function formatMicros(micros: number): string {
  const wholeMicros = Math.round(micros);
  const millis = Math.floor(wholeMicros / MICROS_PER_MS);
  const subMillis = wholeMicros - millis * MICROS_PER_MS;
  return `${new Date(millis).toISOString().slice(0, 23)}${String(subMillis).padStart(3, '0')}Z`;
}

/** Shows a timestamp only once it has happened. */
function happened(micros: number | null, now: number): string | null {
  return micros !== null && micros <= now ? formatMicros(micros) : null;
}

function byId<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// ---------------------------------------------------------------------------------
// Deterministic backup contents. AES-256-CTR over zeros is a fast, seekable keystream:
// any byte range can be produced without generating what comes before it, so large
// files stream in constant memory and Range requests are cheap.

function backupKey(backupId: string): Buffer {
  return createHash('sha256').update(`netbox-cloud-simulator:${backupId}`).digest();
}

function* backupByteChunks(backupId: string, start: number, endExclusive: number): Generator<Buffer> {
  const AES_BLOCK = 16;
  const counter = Buffer.alloc(AES_BLOCK);
  counter.writeBigUInt64BE(BigInt(Math.floor(start / AES_BLOCK)), 8);
  const cipher = createCipheriv('aes-256-ctr', backupKey(backupId), counter);
  const skip = start % AES_BLOCK;
  if (skip > 0) cipher.update(Buffer.alloc(skip));
  const zeros = Buffer.alloc(DOWNLOAD_CHUNK_BYTES);
  for (let offset = start; offset < endExclusive; offset += DOWNLOAD_CHUNK_BYTES) {
    const length = Math.min(DOWNLOAD_CHUNK_BYTES, endExclusive - offset);
    yield cipher.update(length === DOWNLOAD_CHUNK_BYTES ? zeros : zeros.subarray(0, length));
  }
}

// ---------------------------------------------------------------------------------
// Error bodies

type ErrorBody = {
  error_code: string;
  error_message: string;
  error_details: unknown;
  error_reference_id: string;
};

const ERROR_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

function errorBody(status: number, message: string, details: unknown = null, code?: string): ErrorBody {
  return {
    error_code: code ?? ERROR_CODES[status] ?? `HTTP_${status}`,
    error_message: message,
    error_details: details,
    error_reference_id: randomUUID(),
  };
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.error_message);
  }
}

function fail(status: number, message: string, details: unknown = null, code?: string): never {
  throw new ApiError(status, errorBody(status, message, details, code));
}

function fieldError(field: string, problem: string): never {
  fail(400, `${field}: ${problem}`, { [field]: [problem] }, 'VALIDATION_ERROR');
}

function s3ErrorXml(code: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`
  );
}

// ---------------------------------------------------------------------------------
// Request parsing helpers

function readBody(request: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_REQUEST_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) fieldError(field, 'This field is required.');
  if (typeof value !== 'string' || value.trim() === '') fieldError(field, 'Must be a non-empty string.');
  return value;
}

function positiveIntegerParam(query: Record<string, string>, name: string, fallback: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    fail(400, `${name}: must be a positive integer, got "${raw}".`, { [name]: ['A valid positive integer is required.'] }, 'VALIDATION_ERROR');
  }
  return Number(raw);
}

/** Start of a UTC day as microseconds, or a 400 naming the parameter. */
function utcDayParam(query: Record<string, string>, name: string): number | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  const millis = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  // Date.UTC rolls 2026-02-30 over into March; a round trip catches that.
  if (!match || Number.isNaN(millis) || new Date(millis).toISOString().slice(0, 10) !== raw) {
    fail(400, `${name}: must be a date in the form YYYY-MM-DD, got "${raw}".`, { [name]: ['Date has wrong format. Use YYYY-MM-DD.'] }, 'VALIDATION_ERROR');
  }
  return millis * MICROS_PER_MS;
}

function paginate<T>(items: T[], query: Record<string, string>, defaultPageSize: number) {
  const page = positiveIntegerParam(query, 'page', 1);
  const pageSize = positiveIntegerParam(query, 'page_size', defaultPageSize);
  const totalPages = Math.max(1, Math.ceil(items.length / pageSize));
  return {
    data: items.slice((page - 1) * pageSize, page * pageSize),
    metadata: {
      pagination: {
        current_page: page,
        page_size: pageSize,
        total_items: items.length,
        total_pages: totalPages,
        first_page: page === 1,
        last_page: page >= totalPages,
      },
    },
  };
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // S3 ignores ranges it cannot parse
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

// ---------------------------------------------------------------------------------
// State

interface InstanceState {
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

interface RetrievalRecord {
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

interface Fault {
  method?: string;
  pathIncludes: string;
  status: number;
  remaining: number;
  headers: Record<string, string>;
  body?: unknown;
  html?: string;
  afterHandling: boolean;
  dropConnection: boolean;
}

type DownloadCorruption = 'extra-bytes' | 'flipped-byte';

export async function startNetboxCloudSimulator(options: NetboxCloudSimulatorOptions = {}): Promise<NetboxCloudSimulator> {
  const host = options.host ?? '127.0.0.1';
  const apiKey = options.apiKey ?? randomBytes(20).toString('hex');
  const orgId = options.orgId ?? 'org-sandbox';
  const backupRequestDurationMicros = (options.backupRequestDurationMs ?? 1500) * MICROS_PER_MS;
  const retrievalDurationMicros = (options.retrievalDurationMs ?? 1000) * MICROS_PER_MS;
  const restoreDurationMicros = (options.restoreDurationMs ?? 1500) * MICROS_PER_MS;
  const redeployDelayMicros = (options.redeployDelayMs ?? 300) * MICROS_PER_MS;
  const retrievalTtlMicros = (options.retrievalTtlMs ?? 3 * 60 * 60 * 1000) * MICROS_PER_MS;
  const backupSizeBytes = options.backupSizeBytes ?? 256 * 1024;
  const seedBackupsPerInstance = options.seedBackupsPerInstance ?? 3;
  const defaultPageSize = options.defaultPageSize ?? 100;
  const triggerIdForRequests = options.triggerIdForRequests ?? true;
  const checksumForm = options.checksumForm ?? 'sha256';

  const instances = new Map<string, InstanceState>();
  for (const instance of options.instances ?? [
    { id: 'nb-a12ff000777', version: '4.2.9' },
    { id: 'nb-b23ff000888', version: '4.2.9' },
  ]) {
    instances.set(instance.id, {
      id: instance.id,
      version: instance.version,
      versionAvailable: instance.versionAvailable ?? true,
      restoreOutcome: 'completed',
    });
  }

  const seedBackups: SeedBackup[] = [];
  const startOfToday = Math.floor(nowMicros() / MICROS_PER_DAY) * MICROS_PER_DAY;
  for (const instance of instances.values()) {
    for (let daysAgo = 1; daysAgo <= seedBackupsPerInstance; daysAgo++) {
      // Nightly "scheduled" backups around 01:00 UTC, like the document's example.
      const jitter = Math.floor(Math.random() * 30 * 60 * MICROS_PER_SECOND);
      seedBackups.push({
        id: randomUUID(),
        objId: instance.id,
        objVersion: instance.version,
        createdMicros: startOfToday - daysAgo * MICROS_PER_DAY + 60 * 60 * MICROS_PER_SECOND + jitter,
        durationSeconds: 30 + Math.floor(Math.random() * 40),
      });
    }
  }

  const backupRequests: BackupRequestRecord[] = [];
  const retrievals: RetrievalRecord[] = [];
  const restoreJobs: RestoreJobRecord[] = [];
  const recordedRequests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const repeatedPages: Array<{ pathIncludes: string; totalPages: number }> = [];
  const checksums = new Map<string, string>();
  let requestsNeverComplete = false;
  let downloadDisconnects: { afterBytes: number; remaining: number } | undefined;
  const downloadCorruptions: DownloadCorruption[] = [];
  let presignedOrigin: string | undefined;
  let baseUrl = '';

  // -- derived views --------------------------------------------------------------

  function checksumOf(backupId: string): string {
    const cached = checksums.get(backupId);
    if (cached !== undefined) return cached;
    let checksum: string;
    if (checksumForm === 'opaque') {
      checksum = `nbc1:${createHash('sha256').update(`opaque:${backupId}`).digest('base64url').slice(0, 27)}`;
    } else {
      const hash = createHash(checksumForm);
      for (const chunk of backupByteChunks(backupId, 0, backupSizeBytes)) hash.update(chunk);
      checksum = hash.digest('hex');
    }
    checksums.set(backupId, checksum);
    return checksum;
  }

  function backupFromRequest(request: BackupRequestRecord, completedMicros: number): { item: BackupItem; createdMicros: number } {
    // The backup record is written while the request runs, shortly before it completes.
    const createdMicros = Math.round(request.startedMicros + 0.8 * (completedMicros - request.startedMicros));
    const item: BackupItem = {
      id: request.backupId,
      obj_id: request.objId,
      obj_type: 'netbox',
      obj_version: request.objVersion,
      trigger_id: triggerIdForRequests ? request.id : '',
      trigger_type: 'manual',
      checksum: checksumOf(request.backupId),
      size_bytes: backupSizeBytes,
      duration: Math.round((createdMicros - request.startedMicros) / MICROS_PER_SECOND),
      created: formatMicros(createdMicros),
    };
    return { item, createdMicros };
  }

  /** Backups as the API shows them now, with their creation time for date filters. */
  function visibleBackups(now: number): Array<{ item: BackupItem; createdMicros: number }> {
    const visible = seedBackups.map((seed): { item: BackupItem; createdMicros: number } => ({
      createdMicros: seed.createdMicros,
      item: {
        id: seed.id,
        obj_id: seed.objId,
        obj_type: 'netbox',
        obj_version: seed.objVersion,
        trigger_id: '',
        trigger_type: 'scheduled',
        checksum: checksumOf(seed.id),
        size_bytes: backupSizeBytes,
        duration: seed.durationSeconds,
        created: formatMicros(seed.createdMicros),
      },
    }));
    for (const request of backupRequests) {
      if (request.completedMicros !== null && request.completedMicros <= now) {
        visible.push(backupFromRequest(request, request.completedMicros));
      }
    }
    return visible.sort((a, b) => (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));
  }

  function backupRequestItem(request: BackupRequestRecord, now: number): BackupRequestItem {
    return {
      id: request.id,
      obj_id: request.objId,
      obj_type: 'netbox',
      created: formatMicros(request.createdMicros),
      started: happened(request.startedMicros, now),
      completed: happened(request.completedMicros, now),
    };
  }

  function presignedUrl(retrieval: RetrievalRecord): string {
    const query = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `ASIASIMULATOR/${formatMicros(retrieval.completedMicros).slice(0, 10).replaceAll('-', '')}/us-east-1/s3/aws4_request`,
      'X-Amz-Date': formatMicros(retrieval.completedMicros).replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z'),
      'X-Amz-Expires': String(Math.round(retrievalTtlMicros / MICROS_PER_SECOND)),
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': retrieval.signature,
    });
    return `${presignedOrigin ?? baseUrl}/presigned/${retrieval.id}/${encodeURIComponent(retrieval.fileName)}?${query.toString()}`;
  }

  function retrievalItem(retrieval: RetrievalRecord, now: number): RetrievalItem {
    const complete = retrieval.completedMicros <= now;
    return {
      id: retrieval.id,
      backup_id: retrieval.backupId,
      backup_version: retrieval.backupVersion,
      presigned_url: complete ? presignedUrl(retrieval) : null,
      created: formatMicros(retrieval.createdMicros),
      created_by: CREATED_BY,
      started: happened(retrieval.startedMicros, now),
      completed: happened(retrieval.completedMicros, now),
      expires: complete ? formatMicros(retrieval.expiresMicros) : null,
    };
  }

  function restoreJobItem(job: RestoreJobRecord, now: number): RestoreJobItem {
    return {
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
    };
  }

  // -- API routes -----------------------------------------------------------------

  type Reply = { status: number; body: unknown };

  function listBackupsRoute(query: Record<string, string>): Reply {
    const from = utcDayParam(query, 'initial_date');
    const endDay = utcDayParam(query, 'end_date');
    const until = endDay === undefined ? undefined : endDay + MICROS_PER_DAY;
    const items = visibleBackups(nowMicros())
      .filter(({ createdMicros }) => (from === undefined || createdMicros >= from) && (until === undefined || createdMicros < until))
      .map(({ item }) => item);
    return { status: 200, body: paginate(items, query, defaultPageSize) };
  }

  function createBackupRequest(body: Record<string, unknown>): Reply {
    const objId = requiredString(body, 'obj_id');
    const objType = requiredString(body, 'obj_type');
    if (objType !== 'netbox') fieldError('obj_type', `"${objType}" is not a valid choice; it must be "netbox".`);
    const instance = instances.get(objId);
    if (!instance) fail(404, `NetBox instance "${objId}" was not found in organization "${orgId}".`);
    const createdMicros = creationMicros();
    const request: BackupRequestRecord = {
      id: randomUUID(),
      objId,
      objVersion: instance.version,
      backupId: randomUUID(),
      createdMicros,
      startedMicros: createdMicros + Math.round(backupRequestDurationMicros / 10),
      completedMicros: requestsNeverComplete ? null : createdMicros + backupRequestDurationMicros,
    };
    backupRequests.push(request);
    return { status: 201, body: { id: request.id } };
  }

  function createRetrieval(body: Record<string, unknown>): Reply {
    const backupId = requiredString(body, 'backup_id');
    const backup = visibleBackups(nowMicros()).find(({ item }) => item.id === backupId)?.item;
    if (!backup) fail(404, `Backup "${backupId}" was not found.`);
    const createdMicros = creationMicros();
    const completedMicros = createdMicros + retrievalDurationMicros;
    const retrieval: RetrievalRecord = {
      id: randomUUID(),
      backupId,
      backupVersion: backup.obj_version,
      fileName: `${backup.obj_id}_${backup.created.slice(0, 19).replace(/[-:]/g, '')}_${backup.id}.tar.gz`,
      signature: randomBytes(32).toString('hex'),
      createdMicros,
      startedMicros: createdMicros + Math.round(retrievalDurationMicros / 10),
      completedMicros,
      expiresMicros: completedMicros + retrievalTtlMicros,
    };
    retrievals.push(retrieval);
    return { status: 201, body: { id: retrieval.id } };
  }

  function createRestoreJob(body: Record<string, unknown>): Reply {
    const retrievalId = requiredString(body, 'retrieval_id');
    const targetNbId = requiredString(body, 'target_nb_id');
    const now = nowMicros();
    const retrieval = retrievals.find((candidate) => candidate.id === retrievalId);
    if (!retrieval) fail(404, `Retrieval "${retrievalId}" was not found.`);
    if (retrieval.completedMicros > now) {
      fail(409, `Retrieval "${retrievalId}" has not completed yet; wait until it has a completed timestamp.`, { retrieval_id: ['Retrieval not completed.'] });
    }
    if (retrieval.expiresMicros <= now) {
      fail(409, `Retrieval "${retrievalId}" expired at ${formatMicros(retrieval.expiresMicros)}; request a new retrieval.`, { retrieval_id: ['Retrieval expired.'] });
    }
    const target = instances.get(targetNbId);
    if (!target) fail(404, `NetBox instance "${targetNbId}" was not found in organization "${orgId}".`);
    if (!target.versionAvailable) {
      fail(422, `The target version is not available: NetBox version ${retrieval.backupVersion} cannot be deployed on "${targetNbId}".`, {
        target_nb_id: targetNbId,
        backup_version: retrieval.backupVersion,
      });
    }
    const createdMicros = creationMicros();
    const finishedMicros = createdMicros + restoreDurationMicros;
    const job: RestoreJobRecord = {
      id: randomUUID(),
      retrievalId,
      targetNbId,
      targetVersionAvailable: target.versionAvailable,
      createdMicros,
      startedMicros: createdMicros + Math.round(restoreDurationMicros / 10),
      finishedMicros,
      outcome: target.restoreOutcome,
      redeployedMicros: finishedMicros + redeployDelayMicros,
    };
    restoreJobs.push(job);
    return { status: 201, body: { id: job.id } };
  }

  interface Collection {
    list: (query: Record<string, string>) => Reply;
    create?: (body: Record<string, unknown>) => Reply;
  }
  const collections: Record<string, Collection> = {
    'backups': { list: listBackupsRoute },
    'backup-requests': {
      list: (query) => {
        const now = nowMicros();
        return { status: 200, body: paginate(byId(backupRequests).map((request) => backupRequestItem(request, now)), query, defaultPageSize) };
      },
      create: createBackupRequest,
    },
    'backup-retrieved': {
      list: (query) => {
        const now = nowMicros();
        return { status: 200, body: paginate(byId(retrievals).map((retrieval) => retrievalItem(retrieval, now)), query, defaultPageSize) };
      },
      create: createRetrieval,
    },
    'backup-restore': {
      list: (query) => {
        const now = nowMicros();
        const target = query['target_nb_id'];
        const jobs = byId(restoreJobs).filter((job) => target === undefined || job.targetNbId === target);
        return { status: 200, body: paginate(jobs.map((job) => restoreJobItem(job, now)), query, defaultPageSize) };
      },
      create: createRestoreJob,
    },
  };

  function isAuthorized(header: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match?.[1]) return false;
    const presented = Buffer.from(match[1]);
    const expected = Buffer.from(apiKey);
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const fault = faults.find((candidate) => (candidate.method === undefined || candidate.method === method) && path.includes(candidate.pathIncludes));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1);
    return fault;
  }

  function route(method: string, path: string, query: Record<string, string>, body: unknown, rawBodyLength: number): Reply {
    const match = /^\/v2\/organization\/([^/]+)\/([^/]+)(\/?)$/.exec(path);
    if (!match?.[1] || !match[2]) fail(404, `No route for ${method} ${path}.`);
    const requestedOrg = decodeURIComponent(match[1]);
    if (requestedOrg !== orgId) fail(404, `Organization "${requestedOrg}" was not found.`);
    const collection = collections[match[2]];
    if (!collection) fail(404, `No route for ${method} ${path}.`);
    // Every documented path ends with "/"; a client that drops it should find out here.
    if (match[3] !== '/') fail(404, `No route for ${method} ${path} (the documented paths end with "/").`);
    if (method === 'GET') return collection.list(query);
    if (method === 'POST' && collection.create) {
      if (rawBodyLength === 0) fail(400, 'The request body must be a JSON object.', null, 'VALIDATION_ERROR');
      if (body === MALFORMED) fail(400, 'The request body is not valid JSON.', null, 'PARSE_ERROR');
      if (typeof body !== 'object' || body === null || Array.isArray(body)) fail(400, 'The request body must be a JSON object.', null, 'VALIDATION_ERROR');
      return collection.create(body as Record<string, unknown>);
    }
    throw new ApiError(405, errorBody(405, `Method ${method} is not allowed on ${path}.`), { Allow: collection.create ? 'GET, POST' : 'GET' });
  }

  function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const payload = status === 204 ? '' : JSON.stringify(body);
    response.writeHead(status, {
      ...headers,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(payload),
    });
    response.end(payload);
  }

  async function handleApi(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const query = Object.fromEntries(url.searchParams.entries());
    const rawBody = await readBody(request);
    let body: unknown;
    if (rawBody !== 'too-large' && rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        body = MALFORMED;
      }
    }
    const authorized = isAuthorized(request.headers.authorization);
    recordedRequests.push({
      method,
      path: url.pathname,
      query,
      body: body === MALFORMED && rawBody !== 'too-large' ? rawBody.toString('utf8') : body,
      authorized,
    });

    const fault = takeFault(method, url.pathname);
    if (fault && !fault.afterHandling) {
      sendFault(response, fault);
      return;
    }
    let answer: { status: number; body: unknown; headers?: Record<string, string> };
    try {
      if (!authorized) {
        fail(401, request.headers.authorization ? 'Invalid or expired API key.' : 'Authentication credentials were not provided.');
      }
      if (rawBody === 'too-large') fail(413, 'The request body is too large.');
      const repeat = method === 'GET' ? repeatedPages.find((candidate) => url.pathname.includes(candidate.pathIncludes)) : undefined;
      answer = repeat ? firstPageAgain(url.pathname, query, repeat.totalPages) : route(method, url.pathname, query, body, rawBody.length);
    } catch (error) {
      if (error instanceof ApiError) answer = { status: error.status, body: error.body, headers: error.headers };
      else answer = { status: 500, body: errorBody(500, `Simulator error: ${error instanceof Error ? error.message : String(error)}`) };
    }
    if (fault) sendFault(response, fault);
    else sendJson(response, answer.status, answer.body, answer.headers);
  }

  function sendFault(response: ServerResponse, fault: Fault): void {
    if (fault.dropConnection) {
      response.socket?.destroy();
      return;
    }
    if (fault.html !== undefined) {
      response.writeHead(fault.status, { ...fault.headers, 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(fault.html) });
      response.end(fault.html);
      return;
    }
    sendJson(response, fault.status, fault.body !== undefined ? fault.body : errorBody(fault.status, `Simulated HTTP ${fault.status}.`), fault.headers);
  }

  /** Page 1 of the list, whatever page was asked for, claiming that more pages follow. */
  function firstPageAgain(path: string, query: Record<string, string>, totalPages: number): Reply {
    const page = positiveIntegerParam(query, 'page', 1);
    const first = route('GET', path, { ...query, page: '1' }, undefined, 0).body as ReturnType<typeof paginate<unknown>>;
    const pageSize = first.metadata.pagination.page_size;
    return {
      status: 200,
      body: {
        data: first.data,
        metadata: { pagination: { ...first.metadata.pagination, current_page: page, total_items: totalPages * pageSize, total_pages: totalPages, first_page: page === 1, last_page: false } },
      },
    };
  }

  // -- downloads ------------------------------------------------------------------

  function sendS3Error(response: ServerResponse, status: number, code: string, message: string): void {
    const payload = s3ErrorXml(code, message);
    response.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(payload) });
    response.end(payload);
  }

  async function handleDownload(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    request.resume();
    const method = (request.method ?? 'GET').toUpperCase();
    const fault = takeFault(method, url.pathname);
    if (fault) {
      const payload = fault.body !== undefined ? JSON.stringify(fault.body) : s3ErrorXml('SimulatedFault', `Simulated HTTP ${fault.status}.`);
      response.writeHead(fault.status, { 'Content-Type': fault.body !== undefined ? 'application/json' : 'application/xml', ...fault.headers });
      response.end(payload);
      return;
    }
    const retrievalId = url.pathname.split('/')[2] ?? '';
    const retrieval = retrievals.find((candidate) => candidate.id === retrievalId);
    const now = nowMicros();
    // A presigned URL is signed for one method; S3 answers anything else with a signature mismatch.
    if (!retrieval || retrieval.completedMicros > now || method !== 'GET' || url.searchParams.get('X-Amz-Signature') !== retrieval.signature) {
      sendS3Error(response, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
      return;
    }
    if (retrieval.expiresMicros <= now) {
      sendS3Error(response, 403, 'AccessDenied', 'Request has expired');
      return;
    }

    const range = parseRange(request.headers.range, backupSizeBytes);
    if (range === 'unsatisfiable') {
      response.setHeader('Content-Range', `bytes */${backupSizeBytes}`);
      sendS3Error(response, 416, 'InvalidRange', 'The requested range is not satisfiable');
      return;
    }
    const start = range?.start ?? 0;
    const endExclusive = range ? range.end + 1 : backupSizeBytes;
    const corruption = downloadCorruptions.shift();
    const appendExtra = corruption === 'extra-bytes' && endExclusive === backupSizeBytes;
    const flipAt = corruption === 'flipped-byte' ? Math.floor(backupSizeBytes / 2) : -1;
    let disconnectAfter: number | undefined;
    if (downloadDisconnects) {
      disconnectAfter = downloadDisconnects.afterBytes;
      downloadDisconnects.remaining -= 1;
      if (downloadDisconnects.remaining <= 0) downloadDisconnects = undefined;
    }

    const contentLength = endExclusive - start + (appendExtra ? EXTRA_BYTES_APPENDED : 0);
    response.writeHead(range ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': contentLength,
      'Accept-Ranges': 'bytes',
      'Content-Disposition': `attachment; filename="${retrieval.fileName}"`,
      ...(range ? { 'Content-Range': `bytes ${start}-${endExclusive - 1}/${backupSizeBytes}` } : {}),
    });

    const backupId = retrieval.backupId;
    function* body(): Generator<Buffer> {
      let offset = start;
      for (const chunk of backupByteChunks(backupId, start, endExclusive)) {
        if (flipAt >= offset && flipAt < offset + chunk.length) chunk.writeUInt8(chunk.readUInt8(flipAt - offset) ^ 0xff, flipAt - offset);
        offset += chunk.length;
        yield chunk;
      }
      if (appendExtra) yield randomBytes(EXTRA_BYTES_APPENDED);
    }

    let sent = 0;
    for (const chunk of body()) {
      if (response.destroyed) return;
      const piece = disconnectAfter === undefined ? chunk : chunk.subarray(0, Math.max(0, disconnectAfter - sent));
      if (piece.length > 0 && !response.write(piece)) {
        await waitForDrainOrClose(response);
      }
      sent += piece.length;
      if (disconnectAfter !== undefined && sent >= disconnectAfter) break;
    }
    if (disconnectAfter !== undefined && sent < contentLength) {
      // end() on the socket flushes what was written, then closes: the client sees a body
      // shorter than Content-Length, like a connection dropped mid-transfer.
      response.socket?.end();
      return;
    }
    response.end();
  }

  // -- server ---------------------------------------------------------------------

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://simulator.invalid');
    const handler = url.pathname.startsWith('/presigned/') ? handleDownload : handleApi;
    handler(request, response, url).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, errorBody(500, `Simulator error: ${error instanceof Error ? error.message : String(error)}`));
      else response.destroy();
    });
  });

  baseUrl = `http://${await listenOn(server, options.port ?? 0, host)}`;

  function requireInstance(instanceId: string): InstanceState {
    const instance = instances.get(instanceId);
    if (!instance) throw new Error(`Unknown simulated instance "${instanceId}"; known: ${[...instances.keys()].join(', ')}`);
    return instance;
  }

  function knownBackupIds(): Set<string> {
    return new Set([...seedBackups.map((seed) => seed.id), ...backupRequests.map((request) => request.backupId)]);
  }

  return {
    url: baseUrl,
    apiKey,
    orgId,
    requests: recordedRequests,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
    backupBytes(backupId) {
      if (!knownBackupIds().has(backupId)) throw new Error(`Unknown backup "${backupId}"`);
      return Buffer.concat([...backupByteChunks(backupId, 0, backupSizeBytes)]);
    },
    listBackups: () => visibleBackups(nowMicros()).map(({ item }) => item),
    listBackupRequests: () => {
      const now = nowMicros();
      return byId(backupRequests).map((request) => backupRequestItem(request, now));
    },
    listRetrievals: () => {
      const now = nowMicros();
      return byId(retrievals).map((retrieval) => retrievalItem(retrieval, now));
    },
    listRestoreJobs: () => {
      const now = nowMicros();
      return byId(restoreJobs).map((job) => restoreJobItem(job, now));
    },
    failNext(match, status, faultOptions = {}) {
      faults.push({
        method: match.method?.toUpperCase(),
        pathIncludes: match.pathIncludes,
        status,
        remaining: faultOptions.times ?? 1,
        headers: faultOptions.headers ?? {},
        body: faultOptions.body,
        html: faultOptions.html,
        afterHandling: faultOptions.afterHandling ?? false,
        dropConnection: faultOptions.dropConnection ?? false,
      });
    },
    repeatFirstPage(pathIncludes, repeatOptions = {}) {
      repeatedPages.push({ pathIncludes, totalPages: repeatOptions.totalPages ?? 1_000_000 });
    },
    setVersionAvailable(instanceId, available) {
      requireInstance(instanceId).versionAvailable = available;
    },
    setRestoreOutcome(instanceId, outcome) {
      requireInstance(instanceId).restoreOutcome = outcome;
    },
    neverCompleteBackupRequests(value) {
      const now = nowMicros();
      requestsNeverComplete = value;
      for (const request of backupRequests) {
        if (value && (request.completedMicros === null || request.completedMicros > now)) {
          request.completedMicros = null;
        } else if (!value && request.completedMicros === null) {
          // Held requests resume from now, so `completed` never lands in the past.
          request.completedMicros = Math.max(now, request.startedMicros) + Math.round(backupRequestDurationMicros * 0.9);
        }
      }
    },
    disconnectDownloadAfter(bytes, times = 1) {
      downloadDisconnects = { afterBytes: bytes, remaining: times };
    },
    corruptNextDownload(mode) {
      downloadCorruptions.push(mode);
    },
    presignedUrlOrigin(origin) {
      presignedOrigin = origin;
    },
    expireRetrievals() {
      const now = nowMicros();
      for (const retrieval of retrievals) {
        if (retrieval.completedMicros <= now) retrieval.expiresMicros = Math.min(retrieval.expiresMicros, now);
      }
    },
  };
}

function waitForDrainOrClose(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
