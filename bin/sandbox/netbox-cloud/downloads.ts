// Presigned downloads: the S3 side of a completed retrieval, answered the way S3 does
// (XML errors, Range requests) at /presigned/{retrieval id}/{file name}.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from '../kit/http';
import { nowMicros, type NetboxCloudState } from './state';

const EXTRA_BYTES_APPENDED = 17;

function s3ErrorXml(code: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`
  );
}

function sendS3Error(response: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  send(response, status, { ...headers, 'Content-Type': 'application/xml' }, s3ErrorXml(code, message));
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

/** The bytes served for [start, endExclusive), with the armed corruption applied. */
function* servedBytes(state: NetboxCloudState, backupId: string, start: number, endExclusive: number, flipAt: number, appendExtra: boolean): Generator<Buffer> {
  let offset = start;
  for (const chunk of state.backupChunks(backupId, start, endExclusive)) {
    if (flipAt >= offset && flipAt < offset + chunk.length) chunk.writeUInt8(chunk.readUInt8(flipAt - offset) ^ 0xff, flipAt - offset);
    offset += chunk.length;
    yield chunk;
  }
  if (appendExtra) yield randomBytes(EXTRA_BYTES_APPENDED);
}

export async function handleDownload(state: NetboxCloudState, request: IncomingMessage, response: ServerResponse, method: string, url: URL): Promise<void> {
  request.resume();
  const fault = state.faults.take(method, url.pathname);
  if (fault) {
    const json = fault.body !== undefined;
    send(response, fault.status, { 'Content-Type': json ? 'application/json' : 'application/xml', ...fault.headers }, json ? JSON.stringify(fault.body) : s3ErrorXml('SimulatedFault', `Simulated HTTP ${fault.status}.`));
    return;
  }
  const retrievalId = url.pathname.split('/')[2] ?? '';
  const retrieval = state.retrievals.find((candidate) => candidate.id === retrievalId);
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

  const size = state.backupSizeBytes;
  const range = parseRange(request.headers.range, size);
  if (range === 'unsatisfiable') {
    sendS3Error(response, 416, 'InvalidRange', 'The requested range is not satisfiable', { 'Content-Range': `bytes */${size}` });
    return;
  }
  const start = range?.start ?? 0;
  const endExclusive = range ? range.end + 1 : size;
  const corruption = state.downloadCorruptions.take();
  const appendExtra = corruption === 'extra-bytes' && endExclusive === size;
  const flipAt = corruption === 'flipped-byte' ? Math.floor(size / 2) : -1;
  const disconnectAfter = state.downloadDisconnects.take();

  const contentLength = endExclusive - start + (appendExtra ? EXTRA_BYTES_APPENDED : 0);
  response.writeHead(range ? 206 : 200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': contentLength,
    'Accept-Ranges': 'bytes',
    'Content-Disposition': `attachment; filename="${retrieval.fileName}"`,
    ...(range ? { 'Content-Range': `bytes ${start}-${endExclusive - 1}/${size}` } : {}),
  });

  let sent = 0;
  for (const chunk of servedBytes(state, retrieval.backupId, start, endExclusive, flipAt, appendExtra)) {
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
