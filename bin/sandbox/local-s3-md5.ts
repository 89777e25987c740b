// The MD5 of every part the local store receives (a part's ETag), computed on a worker
// thread. On the store's own thread MD5 was its largest cost (2 CPU s per GiB), and it
// capped the store at one core: every client measured against it (npm run bench) waited
// for that thread, however little CPU the client itself used. S3 hashes a part without
// making other uploads wait. The bytes go to the worker in batches it takes over (one
// copy, one message per MiB), and a part's stream waits while too many are queued, so the
// store's memory stays bounded however slow the worker is.
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';

const BATCH_BYTES = 1024 * 1024;
/** Batches of one part queued for the worker before the part's stream waits. */
const BATCHES_IN_FLIGHT = 8;

// Plain JavaScript: the worker runs the same under tsx, jest and the bench.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (message) => {
  let hash = hashes.get(message.id);
  if (!hash) {
    hash = createHash('md5');
    hashes.set(message.id, hash);
  }
  if (message.bytes) {
    hash.update(new Uint8Array(message.bytes, 0, message.length));
    parentPort.postMessage({ id: message.id, ack: true });
  } else {
    hashes.delete(message.id);
    parentPort.postMessage({ id: message.id, md5: hash.digest('hex') });
  }
});
`;

type Reply = { readonly id: number; readonly ack: true } | { readonly id: number; readonly md5: string };

/** A pass-through stream whose bytes are counted, and hashed on the worker; md5Hex is set once it has ended. */
export class Md5Stream extends Transform {
  sizeBytes = 0;
  md5Hex = '';
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private filled = 0;
  private inFlight = 0;
  private held: (() => void) | undefined;
  private digested: ((md5Hex: string) => void) | undefined;

  constructor(
    private readonly id: number,
    private readonly post: (message: { id: number; bytes?: ArrayBuffer; length?: number }, transfer?: ArrayBuffer[]) => void,
  ) {
    super();
  }

  /** The worker's answer for this stream. */
  receive(reply: Reply): void {
    if ('md5' in reply) {
      this.digested?.(reply.md5);
      return;
    }
    this.inFlight -= 1;
    const held = this.held;
    this.held = undefined;
    held?.();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sizeBytes += chunk.length;
    for (let offset = 0; offset < chunk.length; ) {
      const copied = chunk.copy(this.batch, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === BATCH_BYTES) this.send();
    }
    if (this.inFlight < BATCHES_IN_FLIGHT) callback(null, chunk);
    else this.held = () => callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.filled > 0) this.send();
    this.digested = (md5Hex) => {
      this.md5Hex = md5Hex;
      callback();
    };
    this.post({ id: this.id });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A part that broke off: the worker drops its hash (the answer finds no stream and is ignored).
    if (!this.digested) this.post({ id: this.id });
    callback(error);
  }

  private send(): void {
    const bytes = this.batch.buffer as ArrayBuffer;
    this.post({ id: this.id, bytes, length: this.filled }, [bytes]);
    this.inFlight += 1;
    this.batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.filled = 0;
  }
}

/** One worker thread for the whole store, started with the first part. */
export class Md5Worker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly streams = new Map<number, Md5Stream>();

  /** A stream for one part's bytes. */
  stream(): Md5Stream {
    const worker = this.started();
    const id = (this.nextId += 1);
    const stream = new Md5Stream(id, (message, transfer) => worker.postMessage(message, transfer ?? []));
    this.streams.set(id, stream);
    stream.on('close', () => this.streams.delete(id));
    return stream;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // The store's own lifetime decides; an idle worker must not keep a process alive.
    worker.unref();
    worker.on('message', (reply: Reply) => this.streams.get(reply.id)?.receive(reply));
    const failAll = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const stream of this.streams.values()) stream.destroy(error);
    };
    worker.on('error', failAll);
    worker.on('exit', () => failAll(new Error('the MD5 worker of the local S3 store stopped')));
    this.worker = worker;
    return worker;
  }
}
