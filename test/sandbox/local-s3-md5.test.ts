import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Md5Stream, Md5Worker } from '../../bin/sandbox/local-s3-md5';
import { MIB, patternedBytes } from '../support/multipart-parts';

// The local store hashes every part on a worker thread (bin/sandbox/local-s3-md5.ts): the
// ETag must still be the part's MD5, and the store's memory bounded when the worker lags.

/** Chunks of `size` bytes, the last one shorter. */
function chunked(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return chunks;
}

describe('MD5 of the local store parts', () => {
  test('gives the MD5 and size of bytes that cross batch and chunk boundaries, and passes them on unchanged', async () => {
    // Prepare
    const worker = new Md5Worker();
    const bytes = patternedBytes(3 * MIB + 12_345, 5);
    const received: Buffer[] = [];
    const collect = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    });
    const hashing = worker.stream();

    // Act
    await pipeline(Readable.from(chunked(bytes, 100_000)), hashing, collect);
    await worker.stop();

    // Assess
    expect(hashing.md5Hex).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(hashing.sizeBytes).toBe(bytes.length);
    expect(Buffer.concat(received).equals(bytes)).toBe(true);
  });

  test('holds the next bytes while eight batches of a part wait for the worker, and lets one more through per batch hashed', async () => {
    // Prepare: a worker that never answers by itself.
    const posted: number[] = [];
    const hashing = new Md5Stream(1, (message) => {
      if (message.bytes) posted.push(message.length ?? 0);
    });
    let passedBytes = 0;
    hashing.on('data', (chunk: Buffer) => {
      passedBytes += chunk.length;
    });

    // Act
    for (const chunk of chunked(patternedBytes(10 * MIB), MIB)) hashing.write(chunk);
    await nextTurn();
    const passedWhileEightWait = passedBytes;
    hashing.receive({ id: 1, ack: true });
    await nextTurn();

    // Assess
    expect(posted).toHaveLength(9);
    expect(passedWhileEightWait).toBe(7 * MIB);
    expect(passedBytes).toBe(8 * MIB);
    hashing.destroy();
  });

  test('fails a part being hashed when the worker stops', async () => {
    // Prepare
    const worker = new Md5Worker();
    const hashing = worker.stream();
    hashing.resume();
    hashing.write(patternedBytes(2 * MIB));
    const failed = once(hashing, 'error');

    // Act
    await worker.stop();

    // Assess
    await expect(failed).resolves.toEqual([expect.objectContaining({ message: expect.stringContaining('MD5 worker') })]);
  });
});
