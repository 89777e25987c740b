// Child process: a minimal S3 endpoint on 127.0.0.1 that accepts what a copy sends and
// throws the bytes away — CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload, PutObject, and HEAD of an object it completed (rclone checks its
// upload that way). It counts bytes and nothing else (no signature check, no hashing,
// no disk), so a copy into it shows the limit of the copy pipeline itself, apart from
// what a store spends on the same machine. It tells the orchestrator of every object
// completed and every upload aborted; the copier child checks size and SHA-256 itself.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, receiveJob, reply, type DiscardSinkMessage, type DiscardSinkReady } from './bench-child';

interface OpenUpload {
  readonly key: string;
  readonly parts: Map<number, number>;
}

const uploads = new Map<string, OpenUpload>();
/** Sizes of the objects completed, for HEAD. */
const completed = new Map<string, number>();

function tell(message: DiscardSinkMessage): void {
  void reply(message).catch(() => undefined);
}

function xml(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'application/xml', ...headers }).end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

function noSuch(response: ServerResponse, code: 'NoSuchUpload' | 'NoSuchKey'): void {
  xml(response, 404, `<Error><Code>${code}</Code><Message>${code}</Message></Error>`);
}

/** Reads and drops the body; resolves with its length. */
function drain(request: IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.once('end', () => resolve(bytes));
    request.once('error', reject);
  });
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://sink');
  // Path style: /bucket/key...
  const key = decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
  const uploadId = url.searchParams.get('uploadId');
  const partNumber = url.searchParams.get('partNumber');
  const method = request.method ?? 'GET';

  if (method === 'POST' && url.searchParams.has('uploads')) {
    await drain(request);
    const id = randomUUID();
    uploads.set(id, { key, parts: new Map() });
    xml(response, 200, `<InitiateMultipartUploadResult><Bucket>sink</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
    return;
  }
  if (method === 'PUT' && uploadId !== null && partNumber !== null) {
    const bytes = await drain(request);
    const upload = uploads.get(uploadId);
    if (!upload) return noSuch(response, 'NoSuchUpload');
    upload.parts.set(Number(partNumber), bytes);
    response.writeHead(200, { ETag: `"part-${partNumber}-${bytes}"` }).end();
    return;
  }
  if (method === 'POST' && uploadId !== null) {
    await drain(request);
    const upload = uploads.get(uploadId);
    if (!upload) return noSuch(response, 'NoSuchUpload');
    uploads.delete(uploadId);
    const bytes = [...upload.parts.values()].reduce((sum, part) => sum + part, 0);
    completed.set(upload.key, bytes);
    tell({ type: 'object', key: upload.key, bytes, parts: upload.parts.size });
    xml(response, 200, `<CompleteMultipartUploadResult><Bucket>sink</Bucket><Key>${key}</Key><ETag>"discarded-${upload.parts.size}"</ETag></CompleteMultipartUploadResult>`);
    return;
  }
  if (method === 'DELETE' && uploadId !== null) {
    await drain(request);
    uploads.delete(uploadId);
    tell({ type: 'abort', key });
    response.writeHead(204).end();
    return;
  }
  if (method === 'PUT') {
    const bytes = await drain(request);
    completed.set(key, bytes);
    tell({ type: 'object', key, bytes, parts: 1 });
    response.writeHead(200, { ETag: `"discarded-${bytes}"` }).end();
    return;
  }
  if (method === 'HEAD') {
    const size = completed.get(key);
    if (size === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Length': String(size), ETag: '"discarded"', 'Last-Modified': new Date().toUTCString(), 'Content-Type': 'application/octet-stream' }).end();
    return;
  }
  await drain(request);
  xml(response, 501, '<Error><Code>NotImplemented</Code><Message>the discard sink accepts uploads only</Message></Error>');
}

async function main(): Promise<void> {
  await receiveJob<object>();
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) xml(response, 500, `<Error><Code>InternalError</Code><Message>${describeError(error)}</Message></Error>`);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const ready: DiscardSinkReady = { type: 'ready', endpoint: `http://127.0.0.1:${port}` };
  await reply(ready);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(`discard S3 sink: ${describeError(error)}`);
  process.exit(1);
});
