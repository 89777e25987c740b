// A local stand-in for a Riverbed-style appliance's "Backup and Restore v1.0" API
// (/api/npm.backup/1.0), built from ../shared/api-docs/appliance-backup-restore-api.txt,
// plus the Riverbed authentication resources (mgmt.aaa token, common OAuth token) and
// the common info resource, which the document does not cover.
//
// Where the document is silent the simulator picks the behaviour that is hardest on a
// client, so that a client which works here does not lean on undocumented luck:
// - list order is not documented, so backups come back sorted by id (a random UUID),
//   never newest-first;
// - a backup's status is computed from the wall clock at read time (no timers, so
//   nothing keeps running after stop()): `started`, then `uploading` from 30% of
//   backupDurationMs, then `completed` with its size; a backup told to fail stays
//   `started` for the whole duration and then reads `failed`. `size` is 0 until then;
// - every listed backup (in progress and failed ones too) takes a storage slot; creating
//   or uploading a backup while storageLimit backups are listed is refused with 400
//   INSUFFICIENT_SPACE, so a client has to delete failed backups as well;
// - only one backup runs at a time: creating one while another is `started` or
//   `uploading` is refused with 409 BACKUP_IN_PROGRESS; downloading, restoring or
//   deleting a backup that is not `completed` (or `failed`, for delete) answers 409;
// - "Do not provide a request body" is enforced: restore and reset_factory with a
//   non-empty body answer 400; backups create needs a JSON object body (only
//   `description` is used; read-only fields are ignored); upload needs
//   `Content-Type: application/octet-stream` (else 415) and a gzip file whose first
//   line is the metadata JSON that downloads carry (else 400 INVALID_BACKUP_FILE);
// - restore answers 202 with a restore status `started`, then the appliance reboots:
//   for rebootWindowMs every connection is refused per rebootBehaviour (reset: RST at
//   accept; 503/502: an HTML error page from the front web server; hang: accepted,
//   never answered, held until the client gives up or stop()), already-open keep-alive
//   connections are dropped and every token is invalidated;
// - after the reboot, restore_status can keep reporting the previous restore for a few
//   reads (setStaleRestoreStatusReads), like a status service that comes up before the
//   restore result has been written; pinRestoreTime puts restores into one given second,
//   as two restores within one wall-clock second would be;
// - an upload is answered once the file is in; with uploadProcessingMs the new backup
//   then reads `uploading` with size 0 for that long (the appliance unpacking and
//   checking it) before `completed`. resetNextUpload cuts the next upload off with a
//   connection reset part-way, and the appliance keeps a `failed` backup of the part;
// - every API resource, including /api/common/1.0/info, needs authentication; only the
//   token endpoints do not. Unknown paths are 404 before authentication, a trailing
//   slash is an unknown path;
// - reset_factory wipes the backups and the restore history (restore_status reads
//   `not_run` afterwards) but keeps the credentials, so the sandbox stays usable;
// - errors use Riverbed's `{error_id, error_text}` body, except the OAuth token endpoint,
//   which answers RFC 6749 style `{error}` bodies.
//
// Backup files are gzip streams whose first decompressed line is the metadata JSON
// {"hostname","model","serial","sw_version","backup_time","id"}, followed by about
// backupSizeBytes of deterministic AES-256-CTR keystream (keyed by the backup id) so
// the file does not compress away. Times in the API are integer Unix epoch seconds.
import { createCipheriv, createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { generate } from 'selfsigned';
import { listenOn } from './kit/listen';

export const APPLIANCE_API_PATH = '/api/npm.backup/1.0';

export interface ApplianceInfo {
  hostname: string;
  model: string;
  serial: string;
  sw_version: string;
}

export interface ApplianceSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default true: HTTPS with a freshly generated certificate for 127.0.0.1 (SAN IP 127.0.0.1, ::1 and DNS localhost), signed by a fresh CA (`caPem`). */
  tls?: boolean;
  /** DNS names the certificate is issued for instead (a certificate for another host than the one asked for). */
  certificateNames?: string[];
  /** Default 'offsite'. */
  username?: string;
  /** Default random. */
  password?: string;
  /** Default random. */
  oauthAccessCode?: string;
  /** Default 600; tokens expire after this (fractions allowed, for tests). */
  tokenTtlSeconds?: number;
  info?: Partial<ApplianceInfo>;
  /** Default true: serve GET /api/common/1.0/info. */
  infoEndpoint?: boolean;
  /** create → `started`, from 30% `uploading`, at 100% `completed` (default 1500). */
  backupDurationMs?: number;
  /** Approximate size of a backup file (default 256 KiB). */
  backupSizeBytes?: number;
  /** Default 0: an uploaded backup reads `uploading` (size 0) this long after the upload, in the upload answer too, then `completed`. */
  uploadProcessingMs?: number;
  /** Default 2: create and upload are refused when this many backups are listed. */
  storageLimit?: number;
  /** Default 1500: after POST …/restore (or reset_factory) the API is unreachable this long. */
  rebootWindowMs?: number;
  /** Default 'reset': how the API is unreachable during the reboot. */
  rebootBehaviour?: 'reset' | '503' | '502' | 'hang';
  /** Completed backups present at start, made by the appliance's scheduler (default 0). */
  seedBackups?: number;
  /** restore_status before any restore here; default { status: 'not_run', last_restore_time: 0 }. */
  previousRestore?: { status: 'completed' | 'failed' | 'completed_with_errors'; last_restore_time: number; status_message?: string };
}

export interface SimulatedBackup {
  id: string;
  description: string;
  hostname: string;
  model: string;
  serial: string;
  sw_version: string;
  backup_time: number;
  size: number;
  status: 'started' | 'uploading' | 'completed' | 'failed';
  status_message: string;
  uploaded: boolean;
}

export interface RecordedApplianceRequest {
  method: string;
  path: string;
  auth: 'token' | 'basic' | 'none' | 'invalid';
  status: number;
}

export interface ApplianceSimulator {
  /** Origin, e.g. https://127.0.0.1:PORT (no path). */
  readonly url: string;
  /** PEM the client must trust (undefined when tls: false). */
  readonly caPem: string | undefined;
  readonly username: string;
  readonly password: string;
  readonly oauthAccessCode: string;
  readonly info: ApplianceInfo;
  /** Every HTTP request answered. Header values and bodies are never kept. */
  readonly requests: ReadonlyArray<RecordedApplianceRequest>;
  readonly tokensIssued: number;
  /** Every token ever issued, so tests can check that none of them appears in any output. */
  readonly issuedTokens: ReadonlyArray<string>;
  /** Every restore started, in order, with the backup id and the bytes' sha256 of that backup. `startedAt` is epoch seconds, the value restore_status reports as last_restore_time. */
  readonly restores: ReadonlyArray<{ backupId: string; sha256: string; startedAt: number }>;
  /** What GET backups would list now. */
  backups(): SimulatedBackup[];
  /** The exact bytes GET items/{id}/file serves (for uploaded ones: the bytes received). Throws unless the backup is completed. */
  backupBytes(id: string): Buffer;
  /** Wipe the disk (replaced hardware): all backups gone. */
  deleteAllBackups(): void;
  /** The next created backup goes started → failed with this status_message. */
  failNextBackup(statusMessage: string): void;
  /** The next POST backups makes the backup, then answers with this 5xx (a gateway page for 502/503, a JSON error otherwise). */
  loseNextCreateAnswer(status: number): void;
  /** The next `count` DELETEs are answered with `status` (default 500) and delete nothing. */
  failNextDeletes(count: number, status?: number): void;
  setStorageLimit(limit: number): void;
  /** The appliance's current software (info + new backups). */
  setSwVersion(version: string): void;
  /** Outcome of the next restore(s): default 'completed'. */
  setRestoreOutcome(status: 'completed' | 'completed_with_errors' | 'failed', statusMessage?: string): void;
  /** After the reboot, restore_status keeps reporting the previous restore for this many reads before the new one shows (default 0). */
  setStaleRestoreStatusReads(reads: number): void;
  /** Restores started from now on report this last_restore_time (epoch seconds); undefined: the wall clock again. */
  pinRestoreTime(epochSeconds: number | undefined): void;
  /** The next upload's connection is reset once this many body bytes have arrived; the appliance keeps a `failed` backup of them. */
  resetNextUpload(afterBytes: number): void;
  setRebootWindowMs(ms: number): void;
  /** Every issued token becomes invalid (401 on next use). */
  expireTokens(): void;
  stop(): Promise<void>;
}

type BackupStatus = SimulatedBackup['status'];
type AuthKind = RecordedApplianceRequest['auth'];
type RestoreOutcome = 'completed' | 'completed_with_errors' | 'failed';

interface RestoreStatus {
  last_restore_time: number;
  status: 'not_run' | 'started' | RestoreOutcome;
  status_message: string;
}

interface BackupMetadata {
  hostname: string;
  model: string;
  serial: string;
  sw_version: string;
  backup_time: number;
  id: string;
}

interface BackupRecord {
  id: string;
  description: string;
  /** The appliance identity and time the file carries (for uploads: what the file says). */
  metadata: BackupMetadata;
  createdMs: number;
  origin: 'created' | 'seed' | 'uploaded';
  /** Set for a created backup that is going to fail. */
  failMessage?: string;
  /** Cached file bytes; for uploads, the bytes received. */
  bytes?: Buffer;
}

const INFO_PATH = '/api/common/1.0/info';
const MAX_JSON_BODY_BYTES = 1024 * 1024;
const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;
const UPLOADING_FROM = 0.3;
const SECONDS_PER_DAY = 86_400;
const DEFAULT_MESSAGES: Record<RestoreOutcome, string> = {
  completed: '',
  completed_with_errors: 'Restore completed with errors: 2 configuration items could not be applied',
  failed: 'Restore failed: the backup could not be applied; the previous configuration is still active',
};
const PROXY_PAGES: Record<502 | 503, string> = {
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function byId<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------
// Errors

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

function fail(status: number, errorId: string, errorText: string, headers: Record<string, string> = {}): never {
  throw new ApiError(status, { error_id: errorId, error_text: errorText }, headers);
}

function oauthFail(error: string, description: string): never {
  throw new ApiError(400, { error, error_description: description });
}

// ---------------------------------------------------------------------------------
// Backup files

function metadataLine(metadata: BackupMetadata): string {
  const { hostname, model, serial, sw_version, backup_time, id } = metadata;
  return JSON.stringify({ hostname, model, serial, sw_version, backup_time, id });
}

function generateBackupFile(metadata: BackupMetadata, sizeBytes: number): Buffer {
  const header = Buffer.from(`${metadataLine(metadata)}\n`);
  const fillerLength = Math.max(0, sizeBytes - header.length);
  const key = createHash('sha256').update(`appliance-simulator:${metadata.id}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const filler = Buffer.concat([cipher.update(Buffer.alloc(fillerLength)), cipher.final()]);
  return gzipSync(Buffer.concat([header, filler]));
}

/** The metadata of an uploaded file, or undefined when it is not a backup file. */
function parseBackupFile(bytes: Buffer): BackupMetadata | undefined {
  let content: Buffer;
  try {
    content = gunzipSync(bytes);
  } catch {
    return undefined;
  }
  const newline = content.indexOf(0x0a);
  const line = (newline === -1 ? content : content.subarray(0, newline)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const fields = parsed as Record<string, unknown>;
  const { hostname, model, serial, sw_version, backup_time, id } = fields;
  if (typeof hostname !== 'string' || typeof model !== 'string' || typeof serial !== 'string' || typeof sw_version !== 'string' || typeof id !== 'string') return undefined;
  if (typeof backup_time !== 'number' || !Number.isSafeInteger(backup_time) || backup_time < 0) return undefined;
  return { hostname, model, serial, sw_version, backup_time, id };
}

// ---------------------------------------------------------------------------------
// Request helpers

function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Reads and discards what is left of a request body, so an early answer does not break the connection. */
function drain(request: IncomingMessage): Promise<void> {
  if (request.complete || request.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    request.on('end', resolve);
    request.on('close', resolve);
    request.on('error', () => resolve());
    request.resume();
  });
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function jsonObjectBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) fail(400, 'REQUEST_INVALID_INPUT', 'The request body must be a JSON object.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    fail(400, 'REQUEST_INVALID_INPUT', 'The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(400, 'REQUEST_INVALID_INPUT', 'The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

function connectionKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

// ---------------------------------------------------------------------------------
// TLS

async function generateCertificate(dnsNames?: readonly string[]): Promise<{ caPem: string; key: string; cert: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const ca = await generate([{ name: 'commonName', value: 'offsite appliance simulator CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: dnsNames
          ? dnsNames.map((value) => ({ type: 2, value }))
          : [
              { type: 7, ip: '127.0.0.1' },
              { type: 7, ip: '::1' },
              { type: 2, value: 'localhost' },
            ],
      },
    ],
  });
  return { caPem: ca.cert, key: leaf.private, cert: leaf.cert };
}

// ---------------------------------------------------------------------------------
// Simulator

interface Context {
  method: string;
  path: string;
  auth: AuthKind;
  request: IncomingMessage;
  params: string[];
  body: Buffer;
}

interface Reply {
  status: number;
  json?: unknown;
  bytes?: { data: Buffer; contentType: string };
  headers?: Record<string, string>;
  /** Runs once the answer has been handed to the socket. */
  afterSend?: () => void;
}

interface Route {
  pattern: RegExp;
  authenticated: boolean;
  enabled?: () => boolean;
  maxBody?: number;
  methods: Partial<Record<string, { precheck?: (ctx: Omit<Context, 'body'>) => void; handle: (ctx: Context) => Reply }>>;
}

export async function startApplianceSimulator(options: ApplianceSimulatorOptions = {}): Promise<ApplianceSimulator> {
  const host = options.host ?? '127.0.0.1';
  const useTls = options.tls ?? true;
  const username = options.username ?? 'offsite';
  const password = options.password ?? randomBytes(12).toString('base64url');
  const oauthAccessCode = options.oauthAccessCode ?? randomBytes(48).toString('base64url');
  const tokenTtlMs = (options.tokenTtlSeconds ?? 600) * 1000;
  const info: ApplianceInfo = {
    hostname: options.info?.hostname ?? 'ar11-lab',
    model: options.info?.model ?? 'SCAN-AR-VE',
    serial: options.info?.serial ?? `VE${randomBytes(5).toString('hex').toUpperCase()}`,
    sw_version: options.info?.sw_version ?? '11.12.0',
  };
  const infoEndpoint = options.infoEndpoint ?? true;
  const backupDurationMs = options.backupDurationMs ?? 1500;
  const backupSizeBytes = options.backupSizeBytes ?? 256 * 1024;
  let storageLimit = options.storageLimit ?? 2;
  let rebootWindowMs = options.rebootWindowMs ?? 1500;
  const rebootBehaviour = options.rebootBehaviour ?? 'reset';

  let records: BackupRecord[] = [];
  const recordedRequests: RecordedApplianceRequest[] = [];
  const restores: Array<{ backupId: string; sha256: string; startedAt: number }> = [];
  const tokens = new Map<string, number>();
  let tokensIssued = 0;
  const issuedTokens: string[] = [];
  const failMessages: string[] = [];
  const lostCreateAnswers: number[] = [];
  let failingDeletes = { count: 0, status: 500 };
  let restoreOutcome: { status: RestoreOutcome; message: string } = { status: 'completed', message: '' };
  let staleReadsSetting = 0;
  let pinnedRestoreTime: number | undefined;
  let uploadResetAfterBytes: number | undefined;
  const uploadProcessingMs = options.uploadProcessingMs ?? 0;
  let rebootUntilMs = 0;
  let settledRestoreStatus: RestoreStatus = options.previousRestore
    ? {
        last_restore_time: options.previousRestore.last_restore_time,
        status: options.previousRestore.status,
        status_message: options.previousRestore.status_message ?? DEFAULT_MESSAGES[options.previousRestore.status],
      }
    : { last_restore_time: 0, status: 'not_run', status_message: '' };
  /** The latest restore's outcome, until restore_status has shown it. */
  let pendingRestoreStatus: { status: RestoreStatus; staleReads: number } | undefined;

  // Nightly scheduler backups around 01:00 UTC on the previous days.
  const startOfToday = Math.floor(nowSeconds() / SECONDS_PER_DAY) * SECONDS_PER_DAY;
  for (let night = 1; night <= (options.seedBackups ?? 0); night++) {
    const backupTime = startOfToday - night * SECONDS_PER_DAY + 3600 + Math.floor(Math.random() * 1800);
    const id = randomUUID();
    records.push({
      id,
      description: 'nightly (appliance scheduler)',
      metadata: { ...info, backup_time: backupTime, id },
      createdMs: backupTime * 1000,
      origin: 'seed',
    });
  }

  // -- derived views --------------------------------------------------------------

  function statusOf(record: BackupRecord, now: number): BackupStatus {
    if (record.origin === 'uploaded') {
      if (record.failMessage !== undefined) return 'failed';
      return now - record.createdMs >= uploadProcessingMs ? 'completed' : 'uploading';
    }
    if (record.origin !== 'created') return 'completed';
    const elapsed = now - record.createdMs;
    if (record.failMessage !== undefined) return elapsed >= backupDurationMs ? 'failed' : 'started';
    if (elapsed >= backupDurationMs) return 'completed';
    return elapsed >= UPLOADING_FROM * backupDurationMs ? 'uploading' : 'started';
  }

  function bytesOf(record: BackupRecord): Buffer {
    record.bytes ??= generateBackupFile(record.metadata, backupSizeBytes);
    return record.bytes;
  }

  function view(record: BackupRecord, now: number): SimulatedBackup {
    const status = statusOf(record, now);
    return {
      backup_time: record.metadata.backup_time,
      description: record.description,
      hostname: record.metadata.hostname,
      id: record.id,
      model: record.metadata.model,
      serial: record.metadata.serial,
      size: status === 'completed' ? bytesOf(record).length : 0,
      status,
      status_message: status === 'failed' ? (record.failMessage ?? '') : '',
      sw_version: record.metadata.sw_version,
      uploaded: record.origin === 'uploaded',
    };
  }

  /** The API's backup object (the simulator's own `uploaded` flag left out). */
  function apiItem(record: BackupRecord, now: number): Omit<SimulatedBackup, 'uploaded'> {
    const { uploaded: _uploaded, ...item } = view(record, now);
    return item;
  }

  function findRecord(id: string): BackupRecord {
    const record = records.find((candidate) => candidate.id === id);
    if (!record) fail(404, 'RESOURCE_NOT_FOUND', `Backup "${id}" was not found.`);
    return record;
  }

  function requireSpace(): void {
    if (records.length >= storageLimit) {
      fail(
        400,
        'INSUFFICIENT_SPACE',
        `Not enough disk space for a new backup: the appliance holds at most ${storageLimit} backup${storageLimit === 1 ? '' : 's'}. Delete a backup first.`,
      );
    }
  }

  function rebooting(): boolean {
    return Date.now() < rebootUntilMs;
  }

  // -- authentication -------------------------------------------------------------

  function classifyAuth(header: string | undefined): AuthKind {
    if (header === undefined || header.trim() === '') return 'none';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (bearer?.[1]) {
      const expiresAtMs = tokens.get(bearer[1]);
      return expiresAtMs !== undefined && Date.now() < expiresAtMs ? 'token' : 'invalid';
    }
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0 && sameSecret(decoded.slice(0, colon), username) && sameSecret(decoded.slice(colon + 1), password)) return 'basic';
    }
    return 'invalid';
  }

  function issueToken(): { token: string; expiresAtMs: number } {
    const token = randomBytes(32).toString('base64url');
    const expiresAtMs = Date.now() + tokenTtlMs;
    tokens.set(token, expiresAtMs);
    tokensIssued += 1;
    issuedTokens.push(token);
    return { token, expiresAtMs };
  }

  function passwordToken(ctx: Context): Reply {
    const body = jsonObjectBody(ctx.body);
    const credentials = body['user_credentials'];
    if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials)) {
      fail(400, 'REQUEST_INVALID_INPUT', 'user_credentials: an object with username and password is required.');
    }
    const { username: presentedUser, password: presentedPassword } = credentials as Record<string, unknown>;
    if (typeof presentedUser !== 'string' || typeof presentedPassword !== 'string') {
      fail(400, 'REQUEST_INVALID_INPUT', 'user_credentials: username and password must be strings.');
    }
    if (!sameSecret(presentedUser, username) || !sameSecret(presentedPassword, password)) {
      fail(401, 'AUTH_INVALID_CREDENTIALS', 'Invalid username or password.');
    }
    const { token, expiresAtMs } = issueToken();
    return { status: 201, json: { access_token: token, token_type: 'bearer', expires_at: Math.floor(expiresAtMs / 1000) } };
  }

  function oauthToken(ctx: Context): Reply {
    if (mediaType(ctx.request.headers['content-type']) !== 'application/x-www-form-urlencoded') {
      oauthFail('invalid_request', 'The request body must be application/x-www-form-urlencoded.');
    }
    const form = new URLSearchParams(ctx.body.toString('utf8'));
    const grantType = form.get('grant_type');
    if (grantType !== 'access_code') oauthFail('unsupported_grant_type', 'grant_type must be access_code.');
    const assertion = form.get('assertion');
    if (assertion === null || !sameSecret(assertion, oauthAccessCode)) oauthFail('invalid_grant', 'The access code is not valid.');
    const { token } = issueToken();
    const state = form.get('state');
    return {
      status: 200,
      json: { access_token: token, token_type: 'bearer', expires_in: Math.floor(tokenTtlMs / 1000), ...(state === null ? {} : { state }) },
    };
  }

  // -- API routes -----------------------------------------------------------------

  function requireNoBody(body: Buffer): void {
    if (body.length > 0) fail(400, 'REQUEST_INVALID_INPUT', 'This operation takes no request body.');
  }

  function createBackup(ctx: Context): Reply {
    const body = jsonObjectBody(ctx.body);
    const description = body['description'] ?? '';
    if (typeof description !== 'string') fail(400, 'REQUEST_INVALID_INPUT', 'description: must be a string.');
    const now = Date.now();
    const running = records.find((record) => {
      const status = statusOf(record, now);
      return status === 'started' || status === 'uploading';
    });
    if (running) fail(409, 'BACKUP_IN_PROGRESS', `Backup "${running.id}" is still in progress; wait for it to finish.`);
    requireSpace();
    const id = randomUUID();
    const record: BackupRecord = {
      id,
      description,
      metadata: { ...info, backup_time: Math.floor(now / 1000), id },
      createdMs: now,
      origin: 'created',
    };
    const failMessage = failMessages.shift();
    if (failMessage !== undefined) record.failMessage = failMessage;
    records.push(record);
    const lostAnswer = lostCreateAnswers.shift();
    if (lostAnswer !== undefined) loseAnswer(lostAnswer);
    return { status: 201, json: apiItem(record, now) };
  }

  function uploadBackup(ctx: Context): Reply {
    requireSpace();
    const metadata = parseBackupFile(ctx.body);
    if (!metadata) {
      fail(400, 'INVALID_BACKUP_FILE', 'The uploaded file is not a backup file: expected a gzip file obtained from a backup\'s download link.');
    }
    const now = Date.now();
    const record: BackupRecord = {
      id: randomUUID(),
      description: 'uploaded',
      metadata,
      createdMs: now,
      origin: 'uploaded',
      bytes: Buffer.from(ctx.body),
    };
    records.push(record);
    return { status: 201, json: apiItem(record, now) };
  }

  function downloadBackup(ctx: Context): Reply {
    const record = findRecord(ctx.params[0] ?? '');
    const status = statusOf(record, Date.now());
    if (status !== 'completed') fail(409, 'BACKUP_NOT_COMPLETED', `Backup "${record.id}" is ${status}; only a completed backup can be downloaded.`);
    return {
      status: 200,
      bytes: { data: bytesOf(record), contentType: 'application/x-gzip' },
      headers: { 'Content-Disposition': `attachment; filename="${record.metadata.hostname}-${record.id}.gz"` },
    };
  }

  /** The appliance acted, then the answer went wrong on the way back. */
  function loseAnswer(status: number): never {
    if (status === 502 || status === 503) {
      const title = `${status} ${PROXY_PAGES[status]}`;
      throw new ApiError(status, `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${title}</title>\n</head><body>\n<h1>${PROXY_PAGES[status]}</h1>\n</body></html>\n`);
    }
    fail(status, 'INTERNAL_ERROR', 'The request could not be completed.');
  }

  function deleteBackup(ctx: Context): Reply {
    if (failingDeletes.count > 0) {
      failingDeletes.count -= 1;
      fail(failingDeletes.status, 'DELETE_FAILED', 'Could not delete the backup: storage busy.');
    }
    const record = findRecord(ctx.params[0] ?? '');
    const status = statusOf(record, Date.now());
    if (status === 'started' || status === 'uploading') fail(409, 'BACKUP_IN_PROGRESS', `Backup "${record.id}" is still in progress; it cannot be deleted yet.`);
    records = records.filter((candidate) => candidate !== record);
    return { status: 204 };
  }

  /** Answers with Connection: close, then the appliance goes down. */
  function reboot(ctx: Context, json: RestoreStatus): Reply {
    rebootUntilMs = Date.now() + rebootWindowMs;
    tokens.clear();
    const current = connectionKey(ctx.request.socket);
    return {
      status: 202,
      json,
      headers: { Connection: 'close' },
      afterSend: () => {
        for (const socket of sockets) {
          if (connectionKey(socket) !== current) socket.destroy();
        }
      },
    };
  }

  function settlePendingRestore(): void {
    if (pendingRestoreStatus) settledRestoreStatus = pendingRestoreStatus.status;
    pendingRestoreStatus = undefined;
  }

  function restoreBackup(ctx: Context): Reply {
    requireNoBody(ctx.body);
    const record = findRecord(ctx.params[0] ?? '');
    const status = statusOf(record, Date.now());
    if (status !== 'completed') fail(409, 'BACKUP_NOT_COMPLETED', `Backup "${record.id}" is ${status}; only a completed backup can be restored.`);
    const startedAt = pinnedRestoreTime ?? nowSeconds();
    restores.push({ backupId: record.id, sha256: createHash('sha256').update(bytesOf(record)).digest('hex'), startedAt });
    settlePendingRestore();
    pendingRestoreStatus = {
      status: { last_restore_time: startedAt, status: restoreOutcome.status, status_message: restoreOutcome.message },
      staleReads: staleReadsSetting,
    };
    return reboot(ctx, { last_restore_time: startedAt, status: 'started', status_message: '' });
  }

  function resetFactory(ctx: Context): Reply {
    requireNoBody(ctx.body);
    const startedAt = nowSeconds();
    records = [];
    pendingRestoreStatus = undefined;
    settledRestoreStatus = { last_restore_time: 0, status: 'not_run', status_message: '' };
    return reboot(ctx, { last_restore_time: startedAt, status: 'started', status_message: 'Resetting to factory defaults' });
  }

  function readRestoreStatus(): Reply {
    if (pendingRestoreStatus) {
      if (pendingRestoreStatus.staleReads > 0) pendingRestoreStatus.staleReads -= 1;
      else settlePendingRestore();
    }
    return { status: 200, json: { ...settledRestoreStatus } };
  }

  /** resetNextUpload: once enough of the body is in, keep it as a failed backup and reset the connection. */
  function armUploadReset(ctx: Omit<Context, 'body'>): void {
    const afterBytes = uploadResetAfterBytes;
    if (afterBytes === undefined) return;
    uploadResetAfterBytes = undefined;
    const received: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      received.push(chunk);
      total += chunk.length;
      if (total < afterBytes) return;
      ctx.request.off('data', onData);
      const now = Date.now();
      const id = randomUUID();
      records.push({
        id,
        description: 'uploaded',
        metadata: { ...info, backup_time: Math.floor(now / 1000), id },
        createdMs: now,
        origin: 'uploaded',
        failMessage: `Upload interrupted after ${total} bytes: the file is incomplete`,
        bytes: Buffer.concat(received),
      });
      // The TCP socket under TLS, so the client sees a reset rather than a TLS close.
      const current = connectionKey(ctx.request.socket);
      for (const socket of sockets) {
        if (connectionKey(socket) === current) socket.resetAndDestroy();
      }
    };
    ctx.request.on('data', onData);
  }

  function ensureOctetStream(ctx: Omit<Context, 'body'>): void {
    const type = mediaType(ctx.request.headers['content-type']);
    if (type !== 'application/octet-stream') {
      fail(415, 'HTTP_UNSUPPORTED_MEDIA_TYPE', `Content-Type "${type || '(none)'}" is not accepted; upload a backup file as application/octet-stream.`);
    }
  }

  const api = APPLIANCE_API_PATH.replace(/\./g, '\\.');
  const routes: Route[] = [
    { pattern: /^\/api\/mgmt\.aaa\/[12]\.0\/token$/, authenticated: false, methods: { POST: { handle: passwordToken } } },
    { pattern: /^\/api\/common\/1\.0\/oauth\/token$/, authenticated: false, methods: { POST: { handle: oauthToken } } },
    {
      pattern: new RegExp(`^${INFO_PATH.replace(/\./g, '\\.')}$`),
      authenticated: true,
      enabled: () => infoEndpoint,
      methods: {
        GET: {
          handle: () => ({
            status: 200,
            json: { device_name: info.hostname, model: info.model, serial: info.serial, sw_version: info.sw_version, hw_version: '' },
          }),
        },
      },
    },
    {
      pattern: new RegExp(`^${api}/backups$`),
      authenticated: true,
      methods: {
        GET: { handle: () => ({ status: 200, json: { items: byId(records).map((record) => apiItem(record, Date.now())) } }) },
        POST: { handle: createBackup },
      },
    },
    { pattern: new RegExp(`^${api}/backups/upload$`), authenticated: true, maxBody: MAX_UPLOAD_BYTES, methods: { POST: { precheck: (ctx) => { ensureOctetStream(ctx); armUploadReset(ctx); }, handle: uploadBackup } } },
    { pattern: new RegExp(`^${api}/backups/reset_factory$`), authenticated: true, methods: { POST: { handle: resetFactory } } },
    {
      pattern: new RegExp(`^${api}/backups/items/([^/]+)$`),
      authenticated: true,
      methods: {
        GET: { handle: (ctx) => ({ status: 200, json: apiItem(findRecord(ctx.params[0] ?? ''), Date.now()) }) },
        DELETE: { handle: deleteBackup },
      },
    },
    { pattern: new RegExp(`^${api}/backups/items/([^/]+)/file$`), authenticated: true, methods: { GET: { handle: downloadBackup } } },
    { pattern: new RegExp(`^${api}/backups/items/([^/]+)/restore$`), authenticated: true, methods: { POST: { handle: restoreBackup } } },
    { pattern: new RegExp(`^${api}/restore_status$`), authenticated: true, methods: { GET: { handle: readRestoreStatus } } },
  ];

  // -- HTTP -----------------------------------------------------------------------

  function send(ctx: Pick<Context, 'method' | 'path' | 'auth'>, response: ServerResponse, status: number, headers: Record<string, string>, payload?: Buffer | string): void {
    recordedRequests.push({ method: ctx.method, path: ctx.path, auth: ctx.auth, status });
    if (status === 204 || payload === undefined) {
      response.writeHead(status, headers);
      response.end();
      return;
    }
    response.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(payload)) });
    response.end(payload);
  }

  function sendJson(ctx: Pick<Context, 'method' | 'path' | 'auth'>, response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    send(ctx, response, status, { ...headers, 'Content-Type': 'application/json' }, status === 204 ? undefined : JSON.stringify(body));
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const path = new URL(request.url ?? '/', 'http://appliance.invalid').pathname;
    const auth = classifyAuth(request.headers.authorization);
    const ctx = { method, path, auth };

    if (rebooting()) {
      if (rebootBehaviour === 'reset') {
        request.socket.destroy();
        return;
      }
      if (rebootBehaviour === 'hang') return;
      request.resume();
      const title = `${rebootBehaviour} ${PROXY_PAGES[rebootBehaviour === '502' ? 502 : 503]}`;
      const page = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${title}</title>\n</head><body>\n<h1>${title.slice(4)}</h1>\n</body></html>\n`;
      send(ctx, response, Number(rebootBehaviour), { 'Content-Type': 'text/html; charset=iso-8859-1' }, page);
      return;
    }

    try {
      const route = routes.find((candidate) => candidate.pattern.test(path) && (candidate.enabled?.() ?? true));
      if (!route) fail(404, 'RESOURCE_NOT_FOUND', `No resource at ${path}.`);
      if (route.authenticated && auth !== 'token' && auth !== 'basic') {
        fail(401, 'AUTH_INVALID_CREDENTIALS', auth === 'none' ? 'Authentication required: send a bearer token or basic credentials.' : 'Invalid or expired credentials.');
      }
      const operation = route.methods[method];
      if (!operation) {
        fail(405, 'HTTP_INVALID_METHOD', `Method ${method} is not allowed on ${path}.`, { Allow: Object.keys(route.methods).join(', ') });
      }
      const params = (route.pattern.exec(path) ?? []).slice(1).map((param) => {
        try {
          return decodeURIComponent(param);
        } catch {
          return param;
        }
      });
      operation.precheck?.({ ...ctx, request, params });
      const body = await readBody(request, route.maxBody ?? MAX_JSON_BODY_BYTES);
      if (body === 'too-large') fail(413, 'REQUEST_TOO_LARGE', 'The request body is too large.');
      const reply = operation.handle({ ...ctx, request, params, body });
      if (reply.bytes) {
        send(ctx, response, reply.status, { ...reply.headers, 'Content-Type': reply.bytes.contentType }, reply.bytes.data);
      } else {
        sendJson(ctx, response, reply.status, reply.json, reply.headers);
      }
      reply.afterSend?.();
    } catch (error) {
      await drain(request);
      if (response.headersSent || response.destroyed) return;
      if (error instanceof ApiError && typeof error.body === 'string') send(ctx, response, error.status, { ...error.headers, 'Content-Type': 'text/html; charset=iso-8859-1' }, error.body);
      else if (error instanceof ApiError) sendJson(ctx, response, error.status, error.body, error.headers);
      else sendJson(ctx, response, 500, { error_id: 'INTERNAL_ERROR', error_text: `Simulator error: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  const requestListener = (request: IncomingMessage, response: ServerResponse): void => {
    handle(request, response).catch(() => response.destroy());
  };
  const certificate = useTls ? await generateCertificate(options.certificateNames) : undefined;
  const httpServer: HttpServer = certificate ? createHttpsServer({ key: certificate.key, cert: certificate.cert }, requestListener) : createHttpServer(requestListener);

  // A plain TCP listener in front decides at accept time whether the connection reaches
  // the web server at all, which is how a rebooting appliance can reset or hang it
  // before any TLS handshake.
  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    socket.on('error', () => undefined);
    if (rebooting() && rebootBehaviour === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (rebooting() && rebootBehaviour === 'hang') return; // accepted, never answered
    httpServer.emit('connection', socket);
  });

  const url = `${useTls ? 'https' : 'http'}://${await listenOn(front, options.port ?? 0, host)}`;

  let stopped: Promise<void> | undefined;

  return {
    url,
    caPem: certificate?.caPem,
    username,
    password,
    oauthAccessCode,
    get info() {
      return { ...info };
    },
    requests: recordedRequests,
    get issuedTokens() {
      return [...issuedTokens];
    },
    get tokensIssued() {
      return tokensIssued;
    },
    restores,
    backups: () => {
      const now = Date.now();
      return byId(records).map((record) => view(record, now));
    },
    backupBytes(id) {
      const record = records.find((candidate) => candidate.id === id);
      if (!record) throw new Error(`Unknown backup "${id}"`);
      const status = statusOf(record, Date.now());
      if (status !== 'completed') throw new Error(`Backup "${id}" is ${status}; it has no file to serve yet`);
      return bytesOf(record);
    },
    deleteAllBackups() {
      records = [];
    },
    failNextBackup(statusMessage) {
      failMessages.push(statusMessage);
    },
    loseNextCreateAnswer(status) {
      lostCreateAnswers.push(status);
    },
    failNextDeletes(count, status = 500) {
      failingDeletes = { count, status };
    },
    setStorageLimit(limit) {
      storageLimit = limit;
    },
    setSwVersion(version) {
      info.sw_version = version;
    },
    setRestoreOutcome(status, statusMessage) {
      restoreOutcome = { status, message: statusMessage ?? DEFAULT_MESSAGES[status] };
    },
    setStaleRestoreStatusReads(reads) {
      staleReadsSetting = reads;
    },
    pinRestoreTime(epochSeconds) {
      pinnedRestoreTime = epochSeconds;
    },
    resetNextUpload(afterBytes) {
      uploadResetAfterBytes = afterBytes;
    },
    setRebootWindowMs(ms) {
      rebootWindowMs = ms;
    },
    expireTokens() {
      tokens.clear();
    },
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        front.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
        httpServer.closeAllConnections();
        httpServer.close(() => undefined);
      });
      return stopped;
    },
  };
}
