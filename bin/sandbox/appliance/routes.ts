// The appliance's resources: the token endpoints, /api/common/1.0/info and the
// "Backup and Restore v1.0" API, and the handler that answers them (and the front web
// server's pages while the appliance reboots).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Refusal, jsonObject, matchRoute, operationFor, parseJson, readBody, send, sendHtml, sendJson, simulatorErrorText, type Headers, type Route } from '../kit/http';
import { mediaType, type ApplianceAuth, type AuthKind } from './auth';
import { parseBackupFile } from './backup-file';
import { PROXY_PAGE_TYPE, fail, proxyPage } from './errors';
import type { ApplianceSimulatorOptions } from './index';
import { nowSeconds, type ApplianceState, type BackupRecord, type RestoreStatus } from './state';

export const APPLIANCE_API_PATH = '/api/npm.backup/1.0';
const INFO_PATH = '/api/common/1.0/info';
const MAX_JSON_BODY_BYTES = 1024 * 1024;
const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

/** The open connections, as the front TCP listener sees them. */
export interface Connections {
  /** Drops every open connection but the one `socket` belongs to. */
  dropAllBut(socket: Socket): void;
  /** Resets the TCP connection `socket` belongs to (under TLS too), so the client sees a reset rather than a TLS close. */
  reset(socket: Socket): void;
}

export interface Dependencies {
  state: ApplianceState;
  auth: ApplianceAuth;
  connections: Connections;
  infoEndpoint: boolean;
  rebootBehaviour: NonNullable<ApplianceSimulatorOptions['rebootBehaviour']>;
}

interface Context {
  request: IncomingMessage;
  params: string[];
  body: Buffer;
}

interface Reply {
  status: number;
  json?: unknown;
  bytes?: { data: Buffer; contentType: string };
  headers?: Headers;
  /** Runs once the answer has been handed to the socket. */
  afterSend?: () => void;
}

interface Operation {
  /** Runs before the body is read (which, for an upload, is the whole file). */
  precheck?: (ctx: Omit<Context, 'body'>) => void;
  handle: (ctx: Context) => Reply;
}

interface ApplianceRoute extends Route<Operation> {
  authenticated: boolean;
  maxBody?: number;
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

function requireNoBody(body: Buffer): void {
  if (body.length > 0) fail(400, 'REQUEST_INVALID_INPUT', 'This operation takes no request body.');
}

function backupRoutes({ state, auth, connections }: Dependencies): Array<ApplianceRoute> {
  const param = (ctx: Context): BackupRecord => {
    const id = ctx.params[0] ?? '';
    const record = state.find(id);
    if (!record) fail(404, 'RESOURCE_NOT_FOUND', `Backup "${id}" was not found.`);
    return record;
  };

  function requireSpace(): void {
    const limit = state.storageLimit;
    if (state.records.length >= limit) {
      fail(400, 'INSUFFICIENT_SPACE', `Not enough disk space for a new backup: the appliance holds at most ${limit} backup${limit === 1 ? '' : 's'}. Delete a backup first.`);
    }
  }

  function createBackup(ctx: Context): Reply {
    const body = jsonObject(parseJson(ctx.body), (message) => fail(400, 'REQUEST_INVALID_INPUT', message));
    const description = body['description'] ?? '';
    if (typeof description !== 'string') fail(400, 'REQUEST_INVALID_INPUT', 'description: must be a string.');
    const now = Date.now();
    const running = state.running(now);
    if (running) fail(409, 'BACKUP_IN_PROGRESS', `Backup "${running.id}" is still in progress; wait for it to finish.`);
    requireSpace();
    const failMessage = state.failMessages.take();
    const record = state.addRecord({ description, createdMs: now, origin: 'created', ...(failMessage === undefined ? {} : { failMessage }) });
    const lostAnswer = state.lostCreateAnswers.take();
    // The appliance acted, then the answer went wrong on the way back.
    if (lostAnswer === 502 || lostAnswer === 503) throw new Refusal(lostAnswer, proxyPage(lostAnswer));
    if (lostAnswer !== undefined) fail(lostAnswer, 'INTERNAL_ERROR', 'The request could not be completed.');
    return { status: 201, json: state.apiItem(record, now) };
  }

  /** resetNextUpload: once enough of the body is in, keep it as a failed backup and reset the connection. */
  function armUploadReset(ctx: Omit<Context, 'body'>): void {
    const afterBytes = state.uploadResets.take();
    if (afterBytes === undefined) return;
    const received: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      received.push(chunk);
      total += chunk.length;
      if (total < afterBytes) return;
      ctx.request.off('data', onData);
      state.addRecord({
        description: 'uploaded',
        createdMs: Date.now(),
        origin: 'uploaded',
        failMessage: `Upload interrupted after ${total} bytes: the file is incomplete`,
        bytes: Buffer.concat(received),
      });
      connections.reset(ctx.request.socket);
    };
    ctx.request.on('data', onData);
  }

  function uploadPrecheck(ctx: Omit<Context, 'body'>): void {
    const type = mediaType(ctx.request.headers['content-type']);
    if (type !== 'application/octet-stream') {
      fail(415, 'HTTP_UNSUPPORTED_MEDIA_TYPE', `Content-Type "${type || '(none)'}" is not accepted; upload a backup file as application/octet-stream.`);
    }
    armUploadReset(ctx);
  }

  function uploadBackup(ctx: Context): Reply {
    requireSpace();
    const metadata = parseBackupFile(ctx.body);
    if (!metadata) fail(400, 'INVALID_BACKUP_FILE', "The uploaded file is not a backup file: expected a gzip file obtained from a backup's download link.");
    const now = Date.now();
    const record = state.addRecord({ description: 'uploaded', createdMs: now, origin: 'uploaded', bytes: Buffer.from(ctx.body) }, metadata);
    return { status: 201, json: state.apiItem(record, now) };
  }

  function downloadBackup(ctx: Context): Reply {
    const record = param(ctx);
    const status = state.statusOf(record, Date.now());
    if (status !== 'completed') fail(409, 'BACKUP_NOT_COMPLETED', `Backup "${record.id}" is ${status}; only a completed backup can be downloaded.`);
    return {
      status: 200,
      bytes: { data: state.bytesOf(record), contentType: 'application/x-gzip' },
      headers: { 'Content-Disposition': `attachment; filename="${record.metadata.hostname}-${record.id}.gz"` },
    };
  }

  function deleteBackup(ctx: Context): Reply {
    const failure = state.failingDeletes.take();
    if (failure !== undefined) fail(failure, 'DELETE_FAILED', 'Could not delete the backup: storage busy.');
    const record = param(ctx);
    const status = state.statusOf(record, Date.now());
    if (status === 'started' || status === 'uploading') fail(409, 'BACKUP_IN_PROGRESS', `Backup "${record.id}" is still in progress; it cannot be deleted yet.`);
    state.records = state.records.filter((candidate) => candidate !== record);
    return { status: 204 };
  }

  /** Answers with Connection: close, then the appliance goes down and every token is gone. */
  function reboot(ctx: Context, json: RestoreStatus): Reply {
    state.startReboot();
    auth.expireAll();
    return { status: 202, json, headers: { Connection: 'close' }, afterSend: () => connections.dropAllBut(ctx.request.socket) };
  }

  function restoreBackup(ctx: Context): Reply {
    requireNoBody(ctx.body);
    const record = param(ctx);
    const status = state.statusOf(record, Date.now());
    if (status !== 'completed') fail(409, 'BACKUP_NOT_COMPLETED', `Backup "${record.id}" is ${status}; only a completed backup can be restored.`);
    const startedAt = state.beginRestore(record, createHash('sha256').update(state.bytesOf(record)).digest('hex'));
    return reboot(ctx, { last_restore_time: startedAt, status: 'started', status_message: '' });
  }

  function resetFactory(ctx: Context): Reply {
    requireNoBody(ctx.body);
    const startedAt = nowSeconds();
    state.resetFactory();
    return reboot(ctx, { last_restore_time: startedAt, status: 'started', status_message: 'Resetting to factory defaults' });
  }

  const api = APPLIANCE_API_PATH.replace(/\./g, '\\.');
  const resource = (path: string, methods: ApplianceRoute['methods'], extra: Partial<ApplianceRoute> = {}): ApplianceRoute => ({
    pattern: new RegExp(`^${api}${path}$`),
    authenticated: true,
    methods,
    ...extra,
  });
  return [
    resource('/backups', {
      GET: { handle: () => ({ status: 200, json: { items: state.apiItems(Date.now()) } }) },
      POST: { handle: createBackup },
    }),
    resource('/backups/upload', { POST: { precheck: uploadPrecheck, handle: uploadBackup } }, { maxBody: MAX_UPLOAD_BYTES }),
    resource('/backups/reset_factory', { POST: { handle: resetFactory } }),
    resource('/backups/items/([^/]+)', {
      GET: { handle: (ctx) => ({ status: 200, json: state.apiItem(param(ctx), Date.now()) }) },
      DELETE: { handle: deleteBackup },
    }),
    resource('/backups/items/([^/]+)/file', { GET: { handle: downloadBackup } }),
    resource('/backups/items/([^/]+)/restore', { POST: { handle: restoreBackup } }),
    resource('/restore_status', { GET: { handle: () => ({ status: 200, json: state.readRestoreStatus() }) } }),
  ];
}

function routeTable(deps: Dependencies): ApplianceRoute[] {
  const { auth, state } = deps;
  const { info } = state;
  return [
    { pattern: /^\/api\/mgmt\.aaa\/[12]\.0\/token$/, authenticated: false, methods: { POST: { handle: (ctx) => auth.passwordToken(ctx.body) } } },
    { pattern: /^\/api\/common\/1\.0\/oauth\/token$/, authenticated: false, methods: { POST: { handle: (ctx) => auth.oauthToken(ctx.request.headers['content-type'], ctx.body) } } },
    {
      pattern: new RegExp(`^${INFO_PATH.replace(/\./g, '\\.')}$`),
      authenticated: true,
      enabled: () => deps.infoEndpoint,
      methods: {
        GET: { handle: () => ({ status: 200, json: { device_name: info.hostname, model: info.model, serial: info.serial, sw_version: info.sw_version, hw_version: '' } }) },
      },
    },
    ...backupRoutes(deps),
  ];
}

/** Answers every request that reaches the web server, recording each answer in state.requests. */
export function apiHandler(deps: Dependencies): (request: IncomingMessage, response: ServerResponse, method: string, path: string) => Promise<void> {
  const { state, auth, rebootBehaviour } = deps;
  const routes = routeTable(deps);

  async function answer(request: IncomingMessage, method: string, path: string, authKind: AuthKind): Promise<Reply> {
    const found = matchRoute(routes, path);
    if (!found) fail(404, 'RESOURCE_NOT_FOUND', `No resource at ${path}.`);
    if (found.route.authenticated && authKind !== 'token' && authKind !== 'basic') {
      fail(401, 'AUTH_INVALID_CREDENTIALS', authKind === 'none' ? 'Authentication required: send a bearer token or basic credentials.' : 'Invalid or expired credentials.');
    }
    const dispatch = operationFor(found.route, method);
    if ('allow' in dispatch) fail(405, 'HTTP_INVALID_METHOD', `Method ${method} is not allowed on ${path}.`, { Allow: dispatch.allow });
    const { operation } = dispatch;
    operation.precheck?.({ request, params: found.params });
    const body = await readBody(request, found.route.maxBody ?? MAX_JSON_BODY_BYTES);
    if (body === 'too-large') fail(413, 'REQUEST_TOO_LARGE', 'The request body is too large.');
    return operation.handle({ request, params: found.params, body });
  }

  return async (request, response, method, path) => {
    const authKind = auth.classify(request.headers.authorization);
    const recorded = (status: number): number => {
      state.requests.push({ method, path, auth: authKind, status });
      return status;
    };

    if (state.rebooting()) {
      if (rebootBehaviour === 'reset') {
        request.socket.destroy();
        return;
      }
      if (rebootBehaviour === 'hang') return;
      request.resume();
      const status = rebootBehaviour === '502' ? 502 : 503;
      sendHtml(response, recorded(status), proxyPage(status), {}, PROXY_PAGE_TYPE);
      return;
    }

    try {
      const result = await answer(request, method, path, authKind);
      if (result.bytes) send(response, recorded(result.status), { ...result.headers, 'Content-Type': result.bytes.contentType }, result.bytes.data);
      else sendJson(response, recorded(result.status), result.json, result.headers);
      result.afterSend?.();
    } catch (error) {
      await drain(request);
      if (response.headersSent || response.destroyed) return;
      if (error instanceof Refusal && typeof error.body === 'string') sendHtml(response, recorded(error.status), error.body, error.headers, PROXY_PAGE_TYPE);
      else if (error instanceof Refusal) sendJson(response, recorded(error.status), error.body, error.headers);
      else sendJson(response, recorded(500), { error_id: 'INTERNAL_ERROR', error_text: simulatorErrorText(error) });
    }
  };
}
