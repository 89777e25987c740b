// Child process: the appliance's upload endpoint, as much of it as the upload benchmark
// needs, on 127.0.0.1 (plain HTTP), every call with Basic auth. POST
// /api/npm.backup/1.0/backups/upload with an application/octet-stream body: the body is
// counted and SHA-256-hashed as it arrives and thrown away (bin/sandbox/
// appliance/ keeps uploads in memory, which a 1 GiB body must not be), then
// answered 201 {id, status: "completed", size}. The backups received are listed (GET
// .../backups, .../backups/items/{id}: only their id, status and size are kept) and can
// be deleted (DELETE .../backups/items/{id}), as uploadFromArchive may do either. Before
// answering an upload, the sink tells the orchestrator over IPC what it received, so
// every peer's upload is checked on the receiving side, whatever the peer reports.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, receiveJob, reply, UPLOAD_PATH, type SinkJob, type SinkMessage, type SinkReady, type SinkUpload } from './bench-child';

const BACKUPS_PATH = '/api/npm.backup/1.0/backups';
const ITEM_PATH = /^\/api\/npm\.backup\/1\.0\/backups\/items\/([^/]+)$/;

/** What the sink keeps of a received backup: its description, never its bytes. */
interface StoredBackup {
  readonly id: string;
  readonly status: 'completed';
  readonly status_message: string;
  readonly size: number;
  readonly description: string;
  readonly backup_time: number;
}

function sendJson(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
}

function sendError(response: ServerResponse, status: number, id: string, text: string): void {
  sendJson(response, status, { error_id: id, error_text: text });
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

async function main(): Promise<void> {
  const job = await receiveJob<SinkJob>();
  const expected = Buffer.from(`Basic ${Buffer.from(`${job.username}:${job.password}`, 'utf8').toString('base64')}`);
  const authorized = (request: IncomingMessage): boolean => {
    const given = Buffer.from(header(request, 'authorization') ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  let uploads = 0;
  const backups = new Map<string, StoredBackup>();
  // The orchestrator hears of an upload before the client hears the answer.
  const tell = (message: SinkMessage): Promise<void> => reply(message).catch(() => undefined);

  const receive = (request: IncomingMessage, response: ServerResponse): void => {
    uploads += 1;
    const id = `bench-upload-${uploads}`;
    const base = {
      type: 'upload' as const,
      id,
      authorized: authorized(request),
      ...(header(request, 'content-type') !== undefined ? { contentType: header(request, 'content-type') } : {}),
      ...(header(request, 'content-length') !== undefined ? { contentLength: header(request, 'content-length') } : {}),
      ...(header(request, 'transfer-encoding') !== undefined ? { transferEncoding: header(request, 'transfer-encoding') } : {}),
    };
    const refuse = (status: number, errorId: string, text: string): void => {
      request.resume();
      void tell({ ...base, complete: false, bytes: 0, sha256: '', statusCode: status, error: text } satisfies SinkUpload).then(() =>
        sendError(response, status, errorId, text),
      );
    };
    if (!base.authorized) {
      refuse(401, 'AUTH_REQUIRED', 'Basic authentication with the benchmark login is required');
      return;
    }
    if ((base.contentType ?? '').split(';')[0]?.trim().toLowerCase() !== 'application/octet-stream') {
      refuse(415, 'UNSUPPORTED_MEDIA_TYPE', `expected application/octet-stream, got ${base.contentType ?? 'no content-type'}`);
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    let settled = false;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    request.once('end', () => {
      settled = true;
      const sha256 = hash.digest('hex');
      const backup: StoredBackup = { id, status: 'completed', status_message: '', size: bytes, description: 'offsite bench upload', backup_time: Math.floor(Date.now() / 1000) };
      backups.set(id, backup);
      void tell({ ...base, complete: true, bytes, sha256, statusCode: 201 } satisfies SinkUpload).then(() => sendJson(response, 201, backup));
    });
    // The client went away (or sent less than its content-length): nothing is stored.
    request.once('close', () => {
      if (settled) return;
      settled = true;
      void tell({ ...base, complete: false, bytes, sha256: '', statusCode: 0, error: 'the request ended before its body did' } satisfies SinkUpload);
    });
  };

  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (path === UPLOAD_PATH) {
      if (request.method !== 'POST') {
        request.resume();
        response.setHeader('Allow', 'POST');
        sendError(response, 405, 'METHOD_NOT_ALLOWED', 'POST only');
        return;
      }
      receive(request, response);
      return;
    }
    request.resume();
    const item = ITEM_PATH.exec(path);
    if (path !== BACKUPS_PATH && !item) {
      sendError(response, 404, 'NOT_FOUND', `the benchmark sink serves ${BACKUPS_PATH}, its items and its upload only`);
      return;
    }
    if (!authorized(request)) {
      sendError(response, 401, 'AUTH_REQUIRED', 'Basic authentication with the benchmark login is required');
      return;
    }
    if (path === BACKUPS_PATH && request.method === 'GET') {
      sendJson(response, 200, { items: [...backups.values()] });
      return;
    }
    const id = safeDecode(item?.[1] ?? '');
    const backup = backups.get(id);
    if (item && request.method === 'GET') {
      if (backup) sendJson(response, 200, backup);
      else sendError(response, 404, 'NOT_FOUND', `no backup ${id}`);
      return;
    }
    if (item && request.method === 'DELETE') {
      backups.delete(id);
      void tell({ type: 'delete', id }).then(() => response.writeHead(204).end());
      return;
    }
    response.setHeader('Allow', item ? 'GET, DELETE' : 'GET');
    sendError(response, 405, 'METHOD_NOT_ALLOWED', `${request.method ?? '?'} is not served here`);
  });
  // A 1 GiB body at a slow rate must not meet Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  await reply({ type: 'ready', baseUrl: `http://127.0.0.1:${port}` } satisfies SinkReady);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(`appliance sink: ${describeError(error)}`);
  process.exit(1);
});
