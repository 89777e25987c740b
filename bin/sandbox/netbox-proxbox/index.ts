// A local stand-in for a self-hosted NetBox with the Proxbox plugin, built from
// ../shared/api-docs/netbox-rest-api-overview.txt, netbox-proxbox-operations-api.txt and
// the facts in docs/design.md ("Facts about the vendors"), corrected to what a real
// NetBox 4.5.10 with netbox-proxbox 0.0.24 answers (../shared/netbox-kit/README.md; the
// real one runs in test/real). Read-only: the audit only lists.
//
// Where the documents are silent the simulator is hard on a client:
// - the default page is 50 (PAGINATE_COUNT) and `limit` is capped at MAX_PAGE_SIZE (1000),
//   so a client that does not follow `next` misses objects;
// - VMs carry a bulky rendered config_context unless `exclude=config_context` is asked for;
// - a path without its trailing slash is answered 301 (without an X-Request-ID), never served;
// - every API answer carries an X-Request-ID; refusals are 403 {"detail": …};
// - /api/status/ names the installed plugins (netbox_proxbox 0.0.24 unless told otherwise).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bearerToken, sameSecret } from '../kit/auth';
import { FaultQueue, type RequestMatch } from '../kit/faults';
import { requestTarget, send, sendJson, simulatorErrorText } from '../kit/http';
import { listenOn } from '../kit/listen';
import type { NetboxEstate } from './estate';

export type { NetboxEstate } from './estate';

export interface NetboxProxboxSimulatorOptions {
  host?: string;
  port?: number;
  /** The v1 token (40 letters and digits, as NetBox 4.5 makes them), sent as `Token …`. */
  token?: string;
  /** The v2 token (`nbt_<key>.<secret>`), sent as `Bearer …`. */
  v2Token?: string;
  estate?: NetboxEstate;
  /** PAGINATE_COUNT (default 50). */
  defaultPageSize?: number;
  /** MAX_PAGE_SIZE (default 1000). */
  maxPageSize?: number;
  /** /api/status/'s `plugins` (default `{ netbox_proxbox: "0.0.24" }`); without netbox_proxbox every plugins/proxbox/ path answers 404. */
  plugins?: Record<string, string>;
}

/** What a list request is about to be served from, told to onListRequest before the page is cut. */
export interface ListRequest {
  readonly path: string;
  readonly offset: number;
  readonly limit: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Which token form was accepted; never the header's value. */
  readonly auth: 'v1' | 'v2' | 'missing' | 'invalid';
  readonly requestId: string;
  readonly status: number;
}

interface Fault {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  /** Sent as is instead of the JSON of `body` (a body that is not JSON). */
  readonly raw?: string;
  /** The answer's head and half its body are sent, then the connection is dropped. */
  readonly cut?: boolean;
}

export interface NetboxProxboxSimulator {
  readonly url: string;
  readonly token: string;
  readonly v2Token: string;
  readonly requests: ReadonlyArray<RecordedRequest>;
  /** The objects served; tests and the sandbox change them in place between audits. */
  readonly estate: NetboxEstate;
  /** The token may not read paths that include this text (403 as NetBox words it). */
  denyPermission(pathIncludes: string): void;
  failNext(match: RequestMatch, status: number, options?: { times?: number; body?: unknown; headers?: Record<string, string>; raw?: string }): void;
  /** The next `times` answers to matching requests break off halfway through their body (the connection drops). */
  cutBodies(match: RequestMatch, times?: number): void;
  /** Lists whose path includes this text end early: `next` is null once `after` items were served, while `count` still says all. */
  endListsEarly(pathIncludes: string | undefined, after?: number): void;
  /** /api/status/'s `plugins` from now on (without netbox_proxbox, every plugins/proxbox/ path answers 404). */
  installPlugins(plugins: Record<string, string>): void;
  /** Called before each list page is served (a test may change the estate in between, as a sync would). */
  onListRequest(listener: ((request: ListRequest) => void) | undefined): void;
  /** `next` links point at another origin from now on (as NetBox behind a proxy without X-Forwarded-Host does). */
  nextLinkOrigin(origin: string | undefined): void;
  /** `next` links of lists whose path includes this text repeat the first page's offset. */
  loopNextLinks(pathIncludes: string | undefined): void;
  stop(): Promise<void>;
}

const LISTS: Record<string, keyof NetboxEstate> = {
  '/api/virtualization/virtual-machines/': 'virtualMachines',
  '/api/plugins/proxbox/sync-state/virtual-machines/': 'syncState',
  '/api/plugins/proxbox/backup-routines/': 'backupRoutines',
  '/api/plugins/proxbox/replications/': 'replications',
  '/api/plugins/proxbox/backups/': 'backups',
  '/api/plugins/proxbox/proxmox-clusters/': 'proxmoxClusters',
};

const BULKY_CONFIG_CONTEXT = { ntp: ['10.0.0.1', '10.0.0.2'], syslog: { servers: ['10.0.0.3'] }, motd: 'x'.repeat(2000) };

export async function startNetboxProxboxSimulator(options: NetboxProxboxSimulatorOptions = {}): Promise<NetboxProxboxSimulator> {
  const token = options.token ?? 'Xg0P1NhbIV8ogPW2JrqUOLoqsv0uDBTFICvHeOP7';
  const v2Token = options.v2Token ?? `nbt_${randomUUID().replace(/-/g, '').slice(0, 12)}.${randomUUID().replace(/-/g, '')}`;
  const estate: NetboxEstate = options.estate ?? { virtualMachines: [], syncState: [], backupRoutines: [], replications: [], backups: [], proxmoxClusters: [], missingEndpoints: [] };
  let plugins = options.plugins ?? { netbox_proxbox: '0.0.24' };
  const defaultPageSize = options.defaultPageSize ?? 50;
  const maxPageSize = options.maxPageSize ?? 1000;
  const requests: RecordedRequest[] = [];
  const denied: string[] = [];
  const faults = new FaultQueue<Fault>();
  let nextOrigin: string | undefined;
  let loopPath: string | undefined;
  let earlyEnd: { path: string; after: number } | undefined;
  let listListener: ((request: ListRequest) => void) | undefined;
  let url = '';

  function authOf(header: string | undefined): RecordedRequest['auth'] {
    if (!header) return 'missing';
    const v1 = /^Token\s+(\S+)\s*$/.exec(header)?.[1];
    if (v1 !== undefined) return sameSecret(v1, token) ? 'v1' : 'invalid';
    const bearer = bearerToken(header);
    if (bearer !== undefined && bearer.startsWith('nbt_')) return sameSecret(bearer, v2Token) ? 'v2' : 'invalid';
    return 'invalid';
  }

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const { method, url: target } = requestTarget(request);
    const requestId = randomUUID();
    const query = Object.fromEntries(target.searchParams);
    const auth = authOf(request.headers.authorization);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      requests.push({ method, path: target.pathname, query, auth, requestId, status });
      sendJson(response, status, body, { 'X-Request-ID': requestId, 'API-Version': '4.5', ...headers });
    };
    if (!target.pathname.endsWith('/')) {
      // As Django's APPEND_SLASH answers: a permanent redirect, before the API sees it, so without an X-Request-ID.
      requests.push({ method, path: target.pathname, query, auth, requestId, status: 301 });
      send(response, 301, { Location: `${target.pathname}/${target.search}` });
      return;
    }
    if (auth === 'missing') return answer(403, { detail: 'Authentication credentials were not provided.' });
    if (auth === 'invalid') return answer(403, { detail: `Invalid ${/^Bearer\s+nbt_/.test(request.headers.authorization ?? '') ? 'v2' : 'v1'} token` });
    const fault = faults.take(method, target.pathname);
    if (fault?.cut) {
      requests.push({ method, path: target.pathname, query, auth, requestId, status: 200 });
      const whole = JSON.stringify({ count: 1, next: null, previous: null, results: [{ id: 1, name: 'x'.repeat(4000) }] });
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(whole)), 'X-Request-ID': requestId });
      response.write(whole.slice(0, whole.length / 2), () => response.destroy());
      return;
    }
    if (fault?.raw !== undefined) {
      requests.push({ method, path: target.pathname, query, auth, requestId, status: fault.status });
      send(response, fault.status, { 'Content-Type': 'application/json', 'X-Request-ID': requestId, ...fault.headers }, fault.raw);
      return;
    }
    if (fault) return answer(fault.status, fault.body ?? { detail: `Simulated HTTP ${fault.status}` }, fault.headers);
    if (target.pathname === '/api/status/') {
      return answer(200, { 'django-version': '5.2.17', 'installed_apps': {}, 'netbox-version': '4.5.10', 'netbox-full-version': '4.5.10', plugins, 'python-version': '3.11.7', 'rq-workers-running': 0 });
    }
    const list = LISTS[target.pathname];
    const pluginMissing = target.pathname.startsWith('/api/plugins/proxbox/') && !('netbox_proxbox' in plugins);
    if (!list || list === 'missingEndpoints' || pluginMissing || estate.missingEndpoints.some((path) => target.pathname.includes(path))) return answer(404, { detail: 'Not found.' });
    if (method !== 'GET') return answer(405, { detail: `Method "${method}" not allowed.` }, { Allow: 'GET, HEAD, OPTIONS' });
    if (denied.some((path) => target.pathname.includes(path))) return answer(403, { detail: 'You do not have permission to perform this action.' });

    const asked = Number(target.searchParams.get('limit') ?? defaultPageSize);
    // limit=0 and limits above MAX_PAGE_SIZE are cut to MAX_PAGE_SIZE.
    const limit = Number.isInteger(asked) && asked >= 0 ? Math.min(asked === 0 ? maxPageSize : asked, maxPageSize) : defaultPageSize;
    const offset = Math.max(0, Number(target.searchParams.get('offset') ?? 0) || 0);
    listListener?.({ path: target.pathname, offset, limit });
    const items = estate[list] as readonly Record<string, unknown>[];
    const brief = ['1', 'true', 'True'].includes(target.searchParams.get('brief') ?? '');
    const excludeContext = (target.searchParams.get('exclude') ?? '').split(',').includes('config_context');
    const page = items.slice(offset, offset + limit).map((item) => {
      if (brief) return { id: item.id, url: item.url, display: item.display ?? item.name, name: item.name };
      return list === 'virtualMachines' && !excludeContext ? { ...item, config_context: BULKY_CONFIG_CONTEXT } : item;
    });
    const link = (at: number): string => {
      const next = new URL(`${nextOrigin ?? url}${target.pathname}`);
      for (const [name, value] of target.searchParams) next.searchParams.set(name, value);
      next.searchParams.set('limit', String(limit));
      next.searchParams.set('offset', String(at));
      return next.href;
    };
    const looping = loopPath !== undefined && target.pathname.includes(loopPath);
    const endsHere = earlyEnd !== undefined && target.pathname.includes(earlyEnd.path) && offset + limit >= earlyEnd.after;
    answer(200, {
      count: items.length,
      next: offset + limit < items.length && !endsHere ? link(looping ? offset : offset + limit) : null,
      previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
      results: page,
    });
  }

  const server: Server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      if (!response.headersSent) sendJson(response, 500, { detail: simulatorErrorText(error) });
      else response.destroy();
    }
  });
  url = `http://${await listenOn(server, options.port ?? 0, options.host ?? '127.0.0.1')}`;

  return {
    url,
    token,
    v2Token,
    requests,
    estate,
    denyPermission: (pathIncludes) => denied.push(pathIncludes),
    failNext: (match, status, faultOptions = {}) =>
      faults.add({ status, body: faultOptions.body, headers: faultOptions.headers ?? {}, ...(faultOptions.raw === undefined ? {} : { raw: faultOptions.raw }) }, faultOptions.times ?? 1, match),
    cutBodies: (match, times = 1) => faults.add({ status: 200, body: undefined, headers: {}, cut: true }, times, match),
    endListsEarly: (pathIncludes, after = 0) => {
      earlyEnd = pathIncludes === undefined ? undefined : { path: pathIncludes, after };
    },
    installPlugins: (installed) => {
      plugins = installed;
    },
    onListRequest: (listener) => {
      listListener = listener;
    },
    nextLinkOrigin: (origin) => {
      nextOrigin = origin;
    },
    loopNextLinks: (pathIncludes) => {
      loopPath = pathIncludes;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
