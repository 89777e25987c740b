// Deterministic file contents for simulated backups. AES-256-CTR over zeros is a fast,
// seekable keystream: any byte range can be produced without generating what comes
// before it, so large files stream in constant memory, Range requests are cheap, and
// the bytes do not compress away.
import { createCipheriv, createHash } from 'node:crypto';

const AES_BLOCK = 16;
const CHUNK_BYTES = 64 * 1024;

/** Bytes [start, endExclusive) of the stream for `seed`, in chunks of at most 64 KiB (each a fresh buffer). */
export function* deterministicChunks(seed: string, start: number, endExclusive: number): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const counter = Buffer.alloc(AES_BLOCK);
  counter.writeBigUInt64BE(BigInt(Math.floor(start / AES_BLOCK)), 8);
  const cipher = createCipheriv('aes-256-ctr', key, counter);
  const skip = start % AES_BLOCK;
  if (skip > 0) cipher.update(Buffer.alloc(skip));
  const zeros = Buffer.alloc(CHUNK_BYTES);
  for (let offset = start; offset < endExclusive; offset += CHUNK_BYTES) {
    const length = Math.min(CHUNK_BYTES, endExclusive - offset);
    yield cipher.update(length === CHUNK_BYTES ? zeros : zeros.subarray(0, length));
  }
}

/** The first `length` bytes of the stream for `seed`. */
export function deterministicBytes(seed: string, length: number): Buffer {
  return Buffer.concat([...deterministicChunks(seed, 0, length)]);
}
