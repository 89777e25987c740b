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
//
// The simulator is split into state.ts (backups, restore history, armed faults),
// backup-file.ts, auth.ts, routes.ts (the resources and the request handler), tls.ts and
// this file (its public face and the front TCP listener); the HTTP plumbing is ../kit.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { requestTarget } from '../kit/http';
import { listenOn } from '../kit/listen';
import { ApplianceAuth } from './auth';
import { apiHandler, type Connections } from './routes';
import { ApplianceState, DEFAULT_MESSAGES } from './state';
import { generateCertificate } from './tls';

export { APPLIANCE_API_PATH } from './routes';

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
  /** After the next restore the appliance reports this host name and/or software (info and new backups). */
  comeBackAs(info: Partial<Pick<ApplianceInfo, 'hostname' | 'sw_version'>>): void;
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

/** Under TLS a request's socket is the TLS socket; the front listener holds the TCP one. Both share the remote address and port. */
function connectionKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

export async function startApplianceSimulator(options: ApplianceSimulatorOptions = {}): Promise<ApplianceSimulator> {
  const useTls = options.tls ?? true;
  const rebootBehaviour = options.rebootBehaviour ?? 'reset';
  const username = options.username ?? 'offsite';
  const password = options.password ?? randomBytes(12).toString('base64url');
  const oauthAccessCode = options.oauthAccessCode ?? randomBytes(48).toString('base64url');
  const auth = new ApplianceAuth({ username, password, oauthAccessCode, tokenTtlMs: (options.tokenTtlSeconds ?? 600) * 1000 });
  const state = new ApplianceState(options);

  const sockets = new Set<Socket>();
  const connections: Connections = {
    dropAllBut(socket) {
      const current = connectionKey(socket);
      for (const candidate of sockets) {
        if (connectionKey(candidate) !== current) candidate.destroy();
      }
    },
    reset(socket) {
      const current = connectionKey(socket);
      for (const candidate of sockets) {
        if (connectionKey(candidate) === current) candidate.resetAndDestroy();
      }
    },
  };
  const handle = apiHandler({ state, auth, connections, infoEndpoint: options.infoEndpoint ?? true, rebootBehaviour });
  const requestListener = (request: IncomingMessage, response: ServerResponse): void => {
    const { method, url } = requestTarget(request);
    handle(request, response, method, url.pathname).catch(() => response.destroy());
  };
  const certificate = useTls ? await generateCertificate(options.certificateNames) : undefined;
  const httpServer: HttpServer = certificate ? createHttpsServer({ key: certificate.key, cert: certificate.cert }, requestListener) : createHttpServer(requestListener);

  // A plain TCP listener in front decides at accept time whether the connection reaches
  // the web server at all, which is how a rebooting appliance can reset or hang it
  // before any TLS handshake.
  const front = createNetServer((socket) => {
    socket.on('error', () => undefined);
    if (state.rebooting() && rebootBehaviour === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (state.rebooting() && rebootBehaviour === 'hang') return; // accepted, never answered
    httpServer.emit('connection', socket);
  });

  const url = `${useTls ? 'https' : 'http'}://${await listenOn(front, options.port ?? 0, options.host ?? '127.0.0.1')}`;

  let stopped: Promise<void> | undefined;

  return {
    url,
    caPem: certificate?.caPem,
    username,
    password,
    oauthAccessCode,
    get info() {
      return { ...state.info };
    },
    requests: state.requests,
    get issuedTokens() {
      return [...auth.issuedTokens];
    },
    get tokensIssued() {
      return auth.tokensIssued;
    },
    restores: state.restores,
    backups: () => state.views(Date.now()),
    backupBytes(id) {
      const record = state.find(id);
      if (!record) throw new Error(`Unknown backup "${id}"`);
      const status = state.statusOf(record, Date.now());
      if (status !== 'completed') throw new Error(`Backup "${id}" is ${status}; it has no file to serve yet`);
      return state.bytesOf(record);
    },
    deleteAllBackups() {
      state.records = [];
    },
    failNextBackup(statusMessage) {
      state.failMessages.add(statusMessage);
    },
    loseNextCreateAnswer(status) {
      state.lostCreateAnswers.add(status);
    },
    failNextDeletes(count, status = 500) {
      state.failingDeletes.replace(status, count);
    },
    setStorageLimit(limit) {
      state.storageLimit = limit;
    },
    setSwVersion(version) {
      state.info.sw_version = version;
    },
    comeBackAs(info) {
      state.nextRestoreInfo = { ...info };
    },
    setRestoreOutcome(status, statusMessage) {
      state.restoreOutcome = { status, message: statusMessage ?? DEFAULT_MESSAGES[status] };
    },
    setStaleRestoreStatusReads(reads) {
      state.staleReadsSetting = reads;
    },
    pinRestoreTime(epochSeconds) {
      state.pinnedRestoreTime = epochSeconds;
    },
    resetNextUpload(afterBytes) {
      state.uploadResets.replace(afterBytes);
    },
    setRebootWindowMs(ms) {
      state.rebootWindowMs = ms;
    },
    expireTokens() {
      auth.expireAll();
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
