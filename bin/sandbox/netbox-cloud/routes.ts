// The NetBox Cloud Backups API (v2): four collections under /v2/organization/{org}/,
// each listed with GET (paged) and, but for backups, created with POST.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MALFORMED, Refusal, jsonObject, matchRoute, operationFor, parseJson, readBody, sendHtml, sendJson, simulatorErrorText, type Route } from '../kit/http';
import { isAuthorized, refuseUnauthorized } from './auth';
import { errorBody, fail, fieldError } from './errors';
import { MICROS_PER_DAY, MICROS_PER_MS, formatMicros, nowMicros, type Fault, type NetboxCloudState } from './state';

const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

type Query = Record<string, string>;
type Reply = { status: number; body: unknown; headers?: Record<string, string> };
type Operation = (call: { query: Query; body: unknown }) => Reply;

// ---------------------------------------------------------------------------------
// Parameters

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) fieldError(field, 'This field is required.');
  if (typeof value !== 'string' || value.trim() === '') fieldError(field, 'Must be a non-empty string.');
  return value;
}

function positiveIntegerParam(query: Query, name: string, fallback: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    fail(400, `${name}: must be a positive integer, got "${raw}".`, { [name]: ['A valid positive integer is required.'] }, 'VALIDATION_ERROR');
  }
  return Number(raw);
}

/** Start of a UTC day as microseconds, or a 400 naming the parameter. */
function utcDayParam(query: Query, name: string): number | undefined {
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

function paginate<T>(items: T[], query: Query, defaultPageSize: number) {
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

// ---------------------------------------------------------------------------------
// Collections

/** A POST operation: the body must be a JSON object. */
function creating(create: (body: Record<string, unknown>) => Reply): Operation {
  return ({ body }) => create(jsonObject(body, (message, notJson) => fail(400, message, null, notJson ? 'PARSE_ERROR' : 'VALIDATION_ERROR')));
}

function collectionRoutes(state: NetboxCloudState): Array<Route<Operation>> {
  const page = <T>(items: T[], query: Query): Reply => ({ status: 200, body: paginate(items, query, state.defaultPageSize) });
  const created = (id: string): Reply => ({ status: 201, body: { id } });

  function instanceOf(objId: string) {
    const instance = state.instances.get(objId);
    if (!instance) fail(404, `NetBox instance "${objId}" was not found in organization "${state.orgId}".`);
    return instance;
  }

  function listBackups({ query }: { query: Query }): Reply {
    const from = utcDayParam(query, 'initial_date');
    const endDay = utcDayParam(query, 'end_date');
    const until = endDay === undefined ? undefined : endDay + MICROS_PER_DAY;
    const items = state
      .visibleBackups(nowMicros())
      .filter(({ createdMicros }) => (from === undefined || createdMicros >= from) && (until === undefined || createdMicros < until))
      .map(({ item }) => item);
    return page(items, query);
  }

  function createBackupRequest(body: Record<string, unknown>): Reply {
    const objId = requiredString(body, 'obj_id');
    const objType = requiredString(body, 'obj_type');
    if (objType !== 'netbox') fieldError('obj_type', `"${objType}" is not a valid choice; it must be "netbox".`);
    return created(state.addBackupRequest(instanceOf(objId)));
  }

  function createRetrieval(body: Record<string, unknown>): Reply {
    const backupId = requiredString(body, 'backup_id');
    const backup = state.visibleBackups(nowMicros()).find(({ item }) => item.id === backupId)?.item;
    if (!backup) fail(404, `Backup "${backupId}" was not found.`);
    return created(state.addRetrieval(backup));
  }

  function createRestoreJob(body: Record<string, unknown>): Reply {
    const retrievalId = requiredString(body, 'retrieval_id');
    const targetNbId = requiredString(body, 'target_nb_id');
    const now = nowMicros();
    const retrieval = state.retrievals.find((candidate) => candidate.id === retrievalId);
    if (!retrieval) fail(404, `Retrieval "${retrievalId}" was not found.`);
    if (retrieval.completedMicros > now) {
      fail(409, `Retrieval "${retrievalId}" has not completed yet; wait until it has a completed timestamp.`, { retrieval_id: ['Retrieval not completed.'] });
    }
    if (retrieval.expiresMicros <= now) {
      fail(409, `Retrieval "${retrievalId}" expired at ${formatMicros(retrieval.expiresMicros)}; request a new retrieval.`, { retrieval_id: ['Retrieval expired.'] });
    }
    const target = instanceOf(targetNbId);
    if (!target.versionAvailable) {
      fail(422, `The target version is not available: NetBox version ${retrieval.backupVersion} cannot be deployed on "${targetNbId}".`, {
        target_nb_id: targetNbId,
        backup_version: retrieval.backupVersion,
      });
    }
    return created(state.addRestoreJob(retrieval, target));
  }

  // The trailing "/" is captured rather than required so that a client which drops it is told so.
  const collection = (name: string, methods: Route<Operation>['methods']): Route<Operation> => ({
    pattern: new RegExp(`^/v2/organization/([^/]+)/${name}(/?)$`),
    methods,
  });
  return [
    collection('backups', { GET: listBackups }),
    collection('backup-requests', { GET: ({ query }) => page(state.backupRequestItems(nowMicros()), query), POST: creating(createBackupRequest) }),
    collection('backup-retrieved', { GET: ({ query }) => page(state.retrievalItems(nowMicros()), query), POST: creating(createRetrieval) }),
    collection('backup-restore', { GET: ({ query }) => page(state.restoreJobItems(nowMicros(), query['target_nb_id']), query), POST: creating(createRestoreJob) }),
  ];
}

// ---------------------------------------------------------------------------------
// The API handler

function sendFault(response: ServerResponse, fault: Fault): void {
  if (fault.dropConnection) {
    response.socket?.destroy();
    return;
  }
  if (fault.html !== undefined) sendHtml(response, fault.status, fault.html, fault.headers);
  else sendJson(response, fault.status, fault.body !== undefined ? fault.body : errorBody(fault.status, `Simulated HTTP ${fault.status}.`), fault.headers);
}

/** Answers API requests (everything but presigned downloads), recording each in state.requests. */
export function apiHandler(state: NetboxCloudState): (request: IncomingMessage, response: ServerResponse, method: string, url: URL) => Promise<void> {
  const unknownCollection: Route<Operation> = { pattern: /^\/v2\/organization\/([^/]+)\/[^/]+(\/?)$/, methods: {} };
  const routes = [...collectionRoutes(state), unknownCollection];

  function route(method: string, path: string, call: { query: Query; body: unknown }): Reply {
    const found = matchRoute(routes, path);
    if (!found) fail(404, `No route for ${method} ${path}.`);
    const [requestedOrg, slash] = found.params;
    if (requestedOrg !== state.orgId) fail(404, `Organization "${requestedOrg}" was not found.`);
    if (found.route === unknownCollection) fail(404, `No route for ${method} ${path}.`);
    // Every documented path ends with "/"; a client that drops it should find out here.
    if (slash !== '/') fail(404, `No route for ${method} ${path} (the documented paths end with "/").`);
    const dispatch = operationFor(found.route, method);
    if ('allow' in dispatch) fail(405, `Method ${method} is not allowed on ${path}.`, null, undefined, { Allow: dispatch.allow });
    return dispatch.operation(call);
  }

  /** Page 1 of the list, whatever page was asked for, claiming that more pages follow. */
  function firstPageAgain(path: string, query: Query, totalPages: number): Reply {
    const page = positiveIntegerParam(query, 'page', 1);
    const first = route('GET', path, { query: { ...query, page: '1' }, body: undefined }).body as ReturnType<typeof paginate<unknown>>;
    const pageSize = first.metadata.pagination.page_size;
    return {
      status: 200,
      body: {
        data: first.data,
        metadata: { pagination: { ...first.metadata.pagination, current_page: page, total_items: totalPages * pageSize, total_pages: totalPages, first_page: page === 1, last_page: false } },
      },
    };
  }

  return async (request, response, method, url) => {
    const query = Object.fromEntries(url.searchParams.entries());
    const rawBody = await readBody(request, MAX_REQUEST_BODY_BYTES);
    const body = rawBody === 'too-large' ? undefined : parseJson(rawBody);
    const authorized = isAuthorized(request.headers.authorization, state.apiKey);
    state.requests.push({ method, path: url.pathname, query, body: body === MALFORMED && rawBody !== 'too-large' ? rawBody.toString('utf8') : body, authorized });

    const fault = state.faults.take(method, url.pathname);
    if (fault && !fault.afterHandling) {
      sendFault(response, fault);
      return;
    }
    let answer: Reply;
    try {
      if (!authorized) refuseUnauthorized(request.headers.authorization);
      if (rawBody === 'too-large') fail(413, 'The request body is too large.');
      const repeat = method === 'GET' ? state.repeatedPages.find((candidate) => url.pathname.includes(candidate.pathIncludes)) : undefined;
      answer = repeat ? firstPageAgain(url.pathname, query, repeat.totalPages) : route(method, url.pathname, { query, body });
    } catch (error) {
      if (error instanceof Refusal) answer = { status: error.status, body: error.body, headers: error.headers };
      else answer = { status: 500, body: errorBody(500, simulatorErrorText(error)) };
    }
    if (fault) sendFault(response, fault);
    else sendJson(response, answer.status, answer.body, answer.headers);
  };
}
