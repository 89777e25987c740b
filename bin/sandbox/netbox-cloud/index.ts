// A local stand-in for the NetBox Cloud Backups API (v2), built from
// ../shared/api-docs/netbox-cloud-backups-api.txt and the facts in docs/kinds/netbox-cloud.md.
//
// Where the document is silent the simulator picks the behaviour that is hardest on a
// client, so that a client which works here does not lean on undocumented luck:
// - list order is not documented, so lists come back sorted by id (a random UUID),
//   never newest-first;
// - timestamps only appear once they have happened, computed from the wall clock at
//   read time (no timers, so nothing keeps running after stop());
// - a new backup shows up in the backups list only once its request has completed.
//
// The simulator is split into state.ts (what it holds and how that reads at a given
// time), auth.ts, routes.ts (the API), downloads.ts (the presigned S3 side) and this
// file (its public face); the HTTP plumbing is the shared ../kit.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { requestTarget, sendJson, simulatorErrorText, type RecordedRequest } from '../kit/http';
import { countCalls, listenOn, type CallCounter } from '../kit/listen';
import { handleDownload } from './downloads';
import { errorBody } from './errors';
import { apiHandler } from './routes';
import { NetboxCloudState, nowMicros } from './state';

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
  /** Every request waits this long before it is handled, as a distant API does (default 0). */
  responseLatencyMs?: number;
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

export type { RecordedRequest } from '../kit/http';

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
  /** Requests open at once (API and downloads): the fan-out's concurrency bound, as the vendor sees it. */
  readonly calls: CallCounter;
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
  /** The NetBox REST API each instance answers (restore drills check it): `<url>/instances/<id>`, `/api/` added. */
  restApiUrl(instanceId: string): string;
  /** The read-only NetBox token the instances' REST APIs accept (`Authorization: Token …`). */
  readonly restToken: string;
  /** What an instance's /api/status/ reports as netbox-version (default: its version). */
  setReportedVersion(instanceId: string, version: string): void;
  /** The `count` an instance answers for a list path such as dcim/devices. */
  setObjectCount(instanceId: string, path: string, count: number): void;
}

/** Object counts every simulated instance starts with (a restore keeps them equal). */
const DEFAULT_OBJECT_COUNTS: Readonly<Record<string, number>> = { 'dcim/devices': 42, 'dcim/sites': 3, 'ipam/prefixes': 17 };

export async function startNetboxCloudSimulator(options: NetboxCloudSimulatorOptions = {}): Promise<NetboxCloudSimulator> {
  const state = new NetboxCloudState(options);
  const handleApi = apiHandler(state);

  // The instances' own NetBox REST APIs: just enough for a restore drill's checks.
  const restToken = '0123456789abcdef0123456789abcdef01234567';
  const reportedVersions = new Map<string, string>();
  const objectCounts = new Map<string, Record<string, number>>();
  const countsOf = (instanceId: string): Record<string, number> => {
    let counts = objectCounts.get(instanceId);
    if (!counts) objectCounts.set(instanceId, (counts = { ...DEFAULT_OBJECT_COUNTS }));
    return counts;
  };
  const handleRest = (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    const match = /^\/instances\/([^/]+)\/api\/(.*)$/.exec(url.pathname);
    const instance = match ? state.instances.get(match[1] ?? '') : undefined;
    const headers = { 'X-Request-ID': `sim-${Math.random().toString(16).slice(2, 10)}` };
    if (!match || !instance) sendJson(response, 404, { detail: 'Not found.' }, headers);
    else if (request.headers.authorization !== `Token ${restToken}`) sendJson(response, 403, { detail: 'Invalid token' }, headers);
    else if (match[2] === 'status/') sendJson(response, 200, { 'django-version': '5.1.8', 'netbox-version': reportedVersions.get(instance.id) ?? instance.version, plugins: {}, 'rq-workers-running': 1 }, headers);
    else {
      const count = countsOf(instance.id)[(match[2] ?? '').replace(/\/$/, '')];
      if (count === undefined) sendJson(response, 404, { detail: 'Not found.' }, headers);
      else sendJson(response, 200, { count, next: null, previous: null, results: [] }, headers);
    }
    return Promise.resolve();
  };

  const server: Server = createServer((request, response) => {
    const handle = (): void => {
      const { method, url } = requestTarget(request);
      const handled = url.pathname.startsWith('/presigned/')
        ? handleDownload(state, request, response, method, url)
        : url.pathname.startsWith('/instances/')
          ? handleRest(request, response, url)
          : handleApi(request, response, method, url);
      handled.catch((error: unknown) => {
        if (!response.headersSent) sendJson(response, 500, errorBody(500, simulatorErrorText(error)));
        else response.destroy();
      });
    };
    // Without a latency an in-process answer never overlaps another, and open calls cannot be counted meaningfully.
    if (options.responseLatencyMs) setTimeout(handle, options.responseLatencyMs);
    else handle();
  });

  const calls = countCalls(server);
  state.baseUrl = `http://${await listenOn(server, options.port ?? 0, options.host ?? '127.0.0.1')}`;

  return {
    url: state.baseUrl,
    apiKey: state.apiKey,
    orgId: state.orgId,
    calls,
    requests: state.requests,
    restToken,
    restApiUrl: (instanceId) => `${state.baseUrl}/instances/${instanceId}`,
    setReportedVersion: (instanceId, version) => void reportedVersions.set(state.requireInstance(instanceId).id, version),
    setObjectCount: (instanceId, path, count) => void (countsOf(state.requireInstance(instanceId).id)[path] = count),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
    backupBytes(backupId) {
      if (!state.knownBackupIds().has(backupId)) throw new Error(`Unknown backup "${backupId}"`);
      return Buffer.concat([...state.backupChunks(backupId, 0, state.backupSizeBytes)]);
    },
    listBackups: () => state.visibleBackups(nowMicros()).map(({ item }) => item),
    listBackupRequests: () => state.backupRequestItems(nowMicros()),
    listRetrievals: () => state.retrievalItems(nowMicros()),
    listRestoreJobs: () => state.restoreJobItems(nowMicros()),
    failNext(match, status, faultOptions = {}) {
      state.faults.add(
        {
          status,
          headers: faultOptions.headers ?? {},
          body: faultOptions.body,
          html: faultOptions.html,
          afterHandling: faultOptions.afterHandling ?? false,
          dropConnection: faultOptions.dropConnection ?? false,
        },
        faultOptions.times ?? 1,
        match,
      );
    },
    repeatFirstPage(pathIncludes, repeatOptions = {}) {
      state.repeatedPages.push({ pathIncludes, totalPages: repeatOptions.totalPages ?? 1_000_000 });
    },
    setVersionAvailable(instanceId, available) {
      state.requireInstance(instanceId).versionAvailable = available;
    },
    setRestoreOutcome(instanceId, outcome) {
      state.requireInstance(instanceId).restoreOutcome = outcome;
    },
    neverCompleteBackupRequests: (value) => state.neverCompleteBackupRequests(value),
    disconnectDownloadAfter(bytes, times = 1) {
      state.downloadDisconnects.replace(bytes, times);
    },
    corruptNextDownload(mode) {
      state.downloadCorruptions.add(mode);
    },
    presignedUrlOrigin(origin) {
      state.presignedOrigin = origin;
    },
    expireRetrievals: () => state.expireRetrievals(),
  };
}
