// Child process: the "vendor download" for the benchmark. Serves sizeBytes of
// deterministic pseudo-random bytes (the AES-256-CTR keystream of a fixed key, which
// neither compresses nor repeats) on 127.0.0.1, generated chunk by chunk as the client
// reads, with Content-Length. GET only. Before listening it runs the same generator
// once through SHA-256, so the orchestrator knows the digest of every response.
import { createCipheriv, createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import { describeError, receiveJob, reply, type SourceJob, type SourceReady } from './bench-child';

export const SOURCE_PATH = '/backup.bin';
const CHUNK_BYTES = 256 * 1024;
const KEY = createHash('sha256').update('offsite copy benchmark').digest();
const IV = Buffer.alloc(16, 0);
const ZEROS = Buffer.alloc(CHUNK_BYTES);

/** Calls emit with consecutive chunks of the stream until it returns false or sizeBytes are out. */
function generate(sizeBytes: number, emit: (chunk: Buffer) => boolean): void {
  const cipher = createCipheriv('aes-256-ctr', KEY, IV);
  let left = sizeBytes;
  while (left > 0) {
    const n = Math.min(CHUNK_BYTES, left);
    left -= n;
    if (!emit(cipher.update(n === CHUNK_BYTES ? ZEROS : ZEROS.subarray(0, n)))) return;
  }
}

function byteStream(sizeBytes: number): Readable {
  const cipher = createCipheriv('aes-256-ctr', KEY, IV);
  let left = sizeBytes;
  return new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK_BYTES, left);
      left -= n;
      this.push(cipher.update(n === CHUNK_BYTES ? ZEROS : ZEROS.subarray(0, n)));
    },
  });
}

async function main(): Promise<void> {
  const job = await receiveJob<SourceJob>();
  const hashStarted = Date.now();
  const hash = createHash('sha256');
  generate(job.sizeBytes, (chunk) => {
    hash.update(chunk);
    return true;
  });
  const sha256 = hash.digest('hex');
  const hashMs = Date.now() - hashStarted;

  const server = createServer((request, response) => {
    if (request.method !== 'GET') {
      response.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain' }).end('GET only\n');
      return;
    }
    if (request.url !== SOURCE_PATH) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    response.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(job.sizeBytes),
      'Cache-Control': 'no-store',
    });
    // A client that hangs up early breaks the pipeline; that is the client's business.
    pipeline(byteStream(job.sizeBytes), response).catch(() => undefined);
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const ready: SourceReady = { type: 'ready', url: `http://127.0.0.1:${port}${SOURCE_PATH}`, sizeBytes: job.sizeBytes, sha256, hashMs };
  await reply(ready);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(`source server: ${describeError(error)}`);
  process.exit(1);
});
