// A local stand-in for the VPS provider's backups API (../shared/api-docs/vps-backups-api.txt)
// and the two servers-API calls docs/design.md ("Facts about the vendors") assumes, on the shared ../kit.
//
// Where the document is silent the simulator picks what is hardest on a client:
// - lists are paginated Django-style (`count`, `next`, `results`) with a small page size,
//   sorted by id, not by time;
// - a backup's status and size are computed from the wall clock at read time (no timers,
//   so nothing keeps running after stop()); `size_mb` is null while in progress;
// - automatic backups expire, manual ones do not, and some manual ones were made by
//   someone else ("Pre-update backup");
// - a restore takes time (the server reads `restoring`), can fail (`error`), and a second
//   one while it runs is a 409.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bearerToken, sameSecret } from '../kit/auth';
import { FaultQueue, type RequestMatch } from '../kit/faults';
import { MALFORMED, Refusal, matchRoute, operationFor, parseJson, readBody, requestTarget, sendJson, simulatorErrorText, type RecordedRequest, type Route } from '../kit/http';
import { countCalls, listenOn, type CallCounter } from '../kit/listen';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_REQUEST_BODY_BYTES = 64 * 1024;

export interface SimulatedServer {
  id: number;
  name: string;
}

export interface VpsSimulatorOptions {
  host?: string;
  port?: number;
  token?: string;
  servers?: SimulatedServer[];
  /** Time from POST until a manual backup is `completed` (default 1500). */
  backupDurationMs?: number;
  /** Time from a restore request until the server reads `running` (or `error`) again (default 1500). */
  restoreDurationMs?: number;
  /**
   * A restore also reads `restoring` until the server has been read this many times since
   * it started (default 0): lets tests see a restore running however slow the machine is.
   */
  restoreVisibleReads?: number;
  pageSize?: number;
  /** Automatic backups per server at start (default 2); each server also has one manual backup someone else made. */
  seedAutomaticBackups?: number;
  /**
   * Lets a server be restored from another server's backup of the same account (a restore
   * drill onto a spare server). The document is silent; comparable providers restore
   * images onto any server of the project. Default false: the backup must be the server's.
   */
  restoreOntoOtherServers?: boolean;
  /** Every request waits this long before it is handled, as a distant API does (default 0). */
  responseLatencyMs?: number;
}

export interface SimulatedBackup {
  id: number;
  serverId: number;
  type: 'manual' | 'automatic';
  description: string;
  createdAtMs: number;
  completesAtMs: number;
  sizeMb: number;
  expiresAtMs: number | null;
  outcome: 'completed' | 'failed';
  failureMessage: string;
}

export type { RecordedRequest } from '../kit/http';

export interface FaultOptions {
  times?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Handle the request first (a POST still creates the backup), then answer with the fault: the answer is lost on the way back. */
  afterHandling?: boolean;
}

interface Fault {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  afterHandling: boolean;
}

interface ServerState extends SimulatedServer {
  restore: { backupId: number; endsAtMs: number; outcome: 'completed' | 'failed'; readsLeft: number } | undefined;
  nextRestoreOutcome: 'completed' | 'failed';
}

export interface VpsSimulator {
  readonly url: string;
  readonly token: string;
  readonly servers: readonly SimulatedServer[];
  /** Requests open at once: the fan-out's concurrency bound, as the provider sees it. */
  readonly calls: CallCounter;
  stop(): Promise<void>;
  readonly requests: ReadonlyArray<RecordedRequest>;
  /** Every backup as the API shows it now. */
  listBackups(): ReadonlyArray<Record<string, unknown>>;
  /** Adds a backup as if made by someone else (or by the provider's schedule), completed `ageMs` ago. */
  addBackup(backup: { serverId: number; type: 'manual' | 'automatic'; description?: string; ageMs?: number; inProgress?: boolean }): number;
  failNext(match: RequestMatch, status: number, options?: FaultOptions): void;
  /** Manual backups created from now on end this way. */
  setBackupOutcome(outcome: 'completed' | 'failed', message?: string): void;
  neverCompleteBackups(value: boolean): void;
  /** The next restore of that server ends this way. */
  setRestoreOutcome(serverId: number, outcome: 'completed' | 'failed'): void;
  /** Status the server reads now. */
  serverStatus(serverId: number): string;
  /** Every list page's `next` points here instead ('loop': back at page 1; a URL: another origin). */
  nextPageQuirk(quirk: 'loop' | string | undefined): void;
}

export async function startVpsSimulator(options: VpsSimulatorOptions = {}): Promise<VpsSimulator> {
  const token = options.token ?? `vps-sim-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const backupDurationMs = options.backupDurationMs ?? 1500;
  const restoreDurationMs = options.restoreDurationMs ?? 1500;
  const pageSize = options.pageSize ?? 2;
  const servers = new Map<number, ServerState>(
    (options.servers ?? [
      { id: 12345, name: 'web-server-01' },
      { id: 67890, name: 'db-server-02' },
    ]).map((server) => [server.id, { ...server, restore: undefined, nextRestoreOutcome: 'completed' }]),
  );
  const backups: SimulatedBackup[] = [];
  const requests: RecordedRequest[] = [];
  const faults = new FaultQueue<Fault>();
  let nextId = 401;
  let backupOutcome: { outcome: 'completed' | 'failed'; message: string } = { outcome: 'completed', message: '' };
  let neverComplete = false;
  let quirk: string | undefined;
  let baseUrl = '';

  const add = (backup: Omit<SimulatedBackup, 'id'>): number => {
    const id = nextId;
    nextId += 1;
    backups.push({ ...backup, id });
    return id;
  };
  const now = Date.now();
  for (const server of servers.values()) {
    for (let day = options.seedAutomaticBackups ?? 2; day >= 1; day -= 1) {
      const created = now - day * DAY_MS;
      add({ serverId: server.id, type: 'automatic', description: 'Automatic daily backup', createdAtMs: created, completesAtMs: created, sizeMb: 4389 + day, expiresAtMs: created + 31 * DAY_MS, outcome: 'completed', failureMessage: '' });
    }
    const manual = now - 3 * DAY_MS;
    add({ serverId: server.id, type: 'manual', description: 'Pre-update backup', createdAtMs: manual, completesAtMs: manual, sizeMb: 4456, expiresAtMs: null, outcome: 'completed', failureMessage: '' });
  }

  function statusOf(backup: SimulatedBackup, at: number): string {
    return at < backup.completesAtMs ? 'in_progress' : backup.outcome;
  }

  function view(backup: SimulatedBackup, at = Date.now()): Record<string, unknown> {
    const status = statusOf(backup, at);
    const server = servers.get(backup.serverId);
    return {
      id: backup.id,
      server: { id: backup.serverId, name: server?.name ?? `server-${backup.serverId}` },
      backup_type: backup.type,
      status,
      size_mb: status === 'completed' ? backup.sizeMb : null,
      created_at: new Date(backup.createdAtMs).toISOString().replace(/\.\d+Z$/, 'Z'),
      expires_at: backup.expiresAtMs === null ? null : new Date(backup.expiresAtMs).toISOString().replace(/\.\d+Z$/, 'Z'),
      description: backup.description,
      ...(status === 'failed' ? { message: backup.failureMessage } : {}),
    };
  }

  function serverStatus(server: ServerState, at = Date.now()): string {
    if (!server.restore) return 'running';
    if (at < server.restore.endsAtMs || server.restore.readsLeft > 0) return 'restoring';
    return server.restore.outcome === 'completed' ? 'running' : 'error';
  }

  const refuse = (status: number, body: unknown): never => {
    throw new Refusal(status, body);
  };

  type Reply = { status: number; body?: unknown };
  type Operation = (call: { params: string[]; query: Record<string, string>; body: unknown }) => Reply;

  const intParam = (raw: string | undefined, name: string): number | undefined => {
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) refuse(400, { [name]: ['A valid integer is required.'] });
    return Number(raw);
  };

  const routes: Array<Route<Operation>> = [
    {
      pattern: /^\/api\/v1\/backups\/$/,
      methods: {
        GET: ({ query }) => {
          const serverId = intParam(query.server_id, 'server_id');
          const type = query.backup_type;
          if (type !== undefined && type !== 'manual' && type !== 'automatic') refuse(400, { backup_type: [`Select a valid choice. ${type} is not one of the available choices.`] });
          const page = intParam(query.page, 'page') ?? 1;
          const selected = backups.filter((backup) => (serverId === undefined || backup.serverId === serverId) && (type === undefined || backup.type === type)).sort((a, b) => a.id - b.id);
          const results = selected.slice((page - 1) * pageSize, page * pageSize).map((backup) => view(backup));
          let next: string | null = null;
          if (page * pageSize < selected.length) {
            const url = new URL('/api/v1/backups/', baseUrl);
            for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
            url.searchParams.set('page', String(page + 1));
            next = url.href;
          }
          if (quirk === 'loop') {
            const url = new URL('/api/v1/backups/', baseUrl);
            for (const [name, value] of Object.entries(query)) if (name !== 'page') url.searchParams.set(name, value);
            next = url.href;
          } else if (quirk !== undefined) next = new URL('/api/v1/backups/?page=2', quirk).href;
          return { status: 200, body: { count: selected.length, next, previous: null, results } };
        },
        POST: ({ body }) => {
          if (body === MALFORMED || typeof body !== 'object' || body === null) refuse(400, { detail: 'JSON parse error - the request body must be a JSON object.' });
          const { server_id: serverId, description } = body as Record<string, unknown>;
          if (serverId === undefined) refuse(400, { server_id: ['This field is required.'] });
          if (typeof serverId !== 'number' || !Number.isInteger(serverId)) refuse(400, { server_id: ['A valid integer is required.'] });
          if (description !== undefined && typeof description !== 'string') refuse(400, { description: ['Not a valid string.'] });
          if (!servers.has(serverId as number)) refuse(404, { detail: 'Not found.' });
          const created = Date.now();
          const id = add({
            serverId: serverId as number,
            type: 'manual',
            description: (description as string | undefined) ?? '',
            createdAtMs: created,
            completesAtMs: neverComplete ? Number.MAX_SAFE_INTEGER : created + backupDurationMs,
            sizeMb: 4500 + (nextId % 97),
            expiresAtMs: null,
            outcome: backupOutcome.outcome,
            failureMessage: backupOutcome.message,
          });
          const backup = backups.find((item) => item.id === id) as SimulatedBackup;
          return { status: 201, body: { ...view(backup, created), message: 'Backup is being created. This may take several minutes depending on server size.' } };
        },
      },
    },
    {
      pattern: /^\/api\/v1\/backups\/(\d+)\/$/,
      methods: {
        DELETE: ({ params }) => {
          const index = backups.findIndex((backup) => backup.id === Number(params[0]));
          if (index < 0) refuse(404, { detail: 'Not found.' });
          backups.splice(index, 1);
          return { status: 204 };
        },
      },
    },
    {
      pattern: /^\/api\/v1\/servers\/(\d+)\/$/,
      methods: {
        GET: ({ params }) => {
          const server = servers.get(Number(params[0]));
          if (!server) return refuse(404, { detail: 'Not found.' });
          const status = serverStatus(server);
          if (server.restore && server.restore.readsLeft > 0) server.restore.readsLeft -= 1;
          return { status: 200, body: { id: server.id, name: server.name, status } };
        },
      },
    },
    {
      pattern: /^\/api\/v1\/servers\/(\d+)\/restore\/$/,
      methods: {
        POST: ({ params, body }) => {
          const server = servers.get(Number(params[0]));
          if (!server) return refuse(404, { detail: 'Not found.' });
          const backupId = (body as { backup_id?: unknown } | undefined)?.backup_id;
          if (typeof backupId !== 'number') refuse(400, { backup_id: ['This field is required.'] });
          const backup = backups.find((item) => item.id === backupId);
          if (!backup) refuse(400, { backup_id: [`Backup ${String(backupId)} does not exist.`] });
          if ((backup as SimulatedBackup).serverId !== server.id && !options.restoreOntoOtherServers) refuse(400, { backup_id: ['The backup does not belong to this server.'] });
          if (statusOf(backup as SimulatedBackup, Date.now()) !== 'completed') refuse(400, { backup_id: ['The backup is not completed.'] });
          if (serverStatus(server) === 'restoring') refuse(409, { detail: 'Server is already restoring.' });
          server.restore = { backupId: backupId as number, endsAtMs: Date.now() + restoreDurationMs, outcome: server.nextRestoreOutcome, readsLeft: options.restoreVisibleReads ?? 0 };
          server.nextRestoreOutcome = 'completed';
          return { status: 202, body: { message: 'Restore started.', server: { id: server.id, status: 'restoring' } } };
        },
      },
    },
  ];

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { method, url } = requestTarget(request);
    const raw = await readBody(request, MAX_REQUEST_BODY_BYTES);
    const body = raw === 'too-large' ? MALFORMED : parseJson(raw);
    const presented = bearerToken(request.headers.authorization);
    const authorized = presented !== undefined && sameSecret(presented, token);
    requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), body: body === MALFORMED ? '(malformed)' : body, authorized });
    const fault = faults.take(method, url.pathname);
    if (fault && !fault.afterHandling) return sendJson(response, fault.status, fault.body ?? { detail: `Simulated HTTP ${fault.status}` }, fault.headers);
    if (!authorized) return sendJson(response, 401, { detail: presented ? 'Invalid token.' : 'Authentication credentials were not provided.' }, { 'WWW-Authenticate': 'Bearer' });
    const found = matchRoute(routes, url.pathname);
    if (!found) return sendJson(response, 404, { detail: 'Not found.' });
    const chosen = operationFor(found.route, method);
    if (!('operation' in chosen)) return sendJson(response, 405, { detail: `Method "${method}" not allowed.` }, { Allow: chosen.allow });
    let reply: Reply;
    try {
      reply = chosen.operation({ params: found.params, query: Object.fromEntries(url.searchParams), body });
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      reply = { status: error.status, body: error.body };
    }
    if (fault) return sendJson(response, fault.status, fault.body ?? { detail: `Simulated HTTP ${fault.status}` }, fault.headers);
    sendJson(response, reply.status, reply.body ?? null);
  }

  const server: Server = createServer((request, response) => {
    const run = (): void => {
      handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) sendJson(response, 500, { detail: simulatorErrorText(error) });
        else response.destroy();
      });
    };
    // Without a latency an in-process answer never overlaps another, and open calls cannot be counted meaningfully.
    if (options.responseLatencyMs) setTimeout(run, options.responseLatencyMs);
    else run();
  });
  const calls = countCalls(server);
  baseUrl = `http://${await listenOn(server, options.port ?? 0, options.host ?? '127.0.0.1')}`;

  const requireServer = (serverId: number): ServerState => {
    const found = servers.get(serverId);
    if (!found) throw new Error(`Unknown server ${serverId}`);
    return found;
  };

  return {
    url: baseUrl,
    token,
    servers: [...servers.values()].map(({ id, name }) => ({ id, name })),
    calls,
    requests,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
    listBackups: () => [...backups].sort((a, b) => a.id - b.id).map((backup) => view(backup)),
    addBackup(backup) {
      requireServer(backup.serverId);
      const created = Date.now() - (backup.ageMs ?? DAY_MS);
      return add({
        serverId: backup.serverId,
        type: backup.type,
        description: backup.description ?? (backup.type === 'automatic' ? 'Automatic daily backup' : 'Made by hand'),
        createdAtMs: created,
        completesAtMs: backup.inProgress ? Number.MAX_SAFE_INTEGER : created,
        sizeMb: 4000,
        expiresAtMs: backup.type === 'automatic' ? created + 31 * DAY_MS : null,
        outcome: 'completed',
        failureMessage: '',
      });
    },
    failNext(match, status, faultOptions = {}) {
      faults.add({ status, headers: faultOptions.headers ?? {}, body: faultOptions.body, afterHandling: faultOptions.afterHandling ?? false }, faultOptions.times ?? 1, match);
    },
    setBackupOutcome(outcome, message = 'Backup failed: the hypervisor could not snapshot the disk.') {
      backupOutcome = { outcome, message: outcome === 'failed' ? message : '' };
    },
    neverCompleteBackups(value) {
      neverComplete = value;
    },
    setRestoreOutcome(serverId, outcome) {
      requireServer(serverId).nextRestoreOutcome = outcome;
    },
    serverStatus: (serverId) => serverStatus(requireServer(serverId)),
    nextPageQuirk(value) {
      quirk = value;
    },
  };
}
