// What the benchmark's child processes share: the messages they exchange with the
// orchestrator (test/bench/copy-benchmark.ts) over the fork IPC channel, and the RSS
// sampler they run on themselves. Kept free of heavy imports: the copier child loads it,
// and everything it loads counts towards the copier's measured memory.

/** Peak memory of the process that reports it. */
export interface MemoryFigures {
  /** process.resourceUsage().maxRSS: the kernel's high-water mark of the resident set, in KiB. */
  readonly maxRssKiB: number;
  /** Highest process.memoryUsage().rss seen by the 100 ms sampler, in bytes. */
  readonly sampledPeakRssBytes: number;
  /** RSS just before the measured work started (after imports and set-up), in bytes. */
  readonly baselineRssBytes: number;
  readonly samples: number;
  /** process.memoryUsage() at the highest sampled RSS: where the memory was. */
  readonly atPeak: NodeJS.MemoryUsage;
}

/** CPU time the process spent on the measured work (process.cpuUsage() from the baseline on), in microseconds. */
export interface CpuFigures {
  readonly userMicros: number;
  readonly systemMicros: number;
}

export interface SourceJob {
  readonly sizeBytes: number;
}
export interface SourceReady {
  readonly type: 'ready';
  readonly url: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly hashMs: number;
}

export interface StoreJob {
  readonly directory: string;
  readonly bucket: string;
}
export interface StoreReady {
  readonly type: 'ready';
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

export interface RawReadJob {
  readonly url: string;
}
export interface RawReadResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly memory: MemoryFigures;
  readonly cpu?: CpuFigures;
}

export interface CopierJob {
  readonly url: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly objectKey: string;
  /** Overrides of the production defaults, for the part size and parallelism sweep. */
  readonly partSizeBytes?: number;
  readonly queueSize?: number;
  /** Parts carry a CRC32 header, as for an archive with Object Lock. */
  readonly checksumAlgorithm?: 'CRC32';
}
export interface CopierResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly sizeBytes?: number;
  readonly sha256?: string;
  readonly manifestKey?: string;
  readonly sourceChecksumVerified?: boolean;
  readonly memory: MemoryFigures;
  readonly cpu?: CpuFigures;
}

/** The discard S3 sink (s3-discard-sink.ts) is up. */
export interface DiscardSinkReady {
  readonly type: 'ready';
  readonly endpoint: string;
}
/** The sink's account of one object it completed (CompleteMultipartUpload or PutObject): what arrived, then dropped. */
export interface DiscardSinkObject {
  readonly type: 'object';
  readonly key: string;
  readonly bytes: number;
  readonly parts: number;
}
/** The sink's account of an aborted multipart upload. */
export interface DiscardSinkAbort {
  readonly type: 'abort';
  readonly key: string;
}
export type DiscardSinkMessage = DiscardSinkObject | DiscardSinkAbort;

// ---------------------------------------------------------------------------- upload direction

/** The appliance's upload endpoint, relative to its base URL (functions/appliance/client.ts). */
export const UPLOAD_PATH = '/api/npm.backup/1.0/backups/upload';

/** What uploadFromArchive needs to know of the archived object (the manifest's figures). */
export interface ArchivedObject {
  readonly objectKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

/** Where a child finds the archive: the local S3 store (credentials come in the environment). */
export interface ArchiveLocation {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
}

export interface S3ReadJob extends ArchiveLocation {
  readonly objectKey: string;
}

/** The appliance sink and its Basic-auth login. */
export interface SinkLogin {
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
}

export interface UploadJob {
  readonly archiveAt: ArchiveLocation;
  readonly archive: ArchivedObject;
  readonly appliance: SinkLogin;
  readonly timeoutMs: number;
}
export interface UploadResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  /** From uploadFromArchive (offsite) or counted on the way (the plain pipe). */
  readonly uploadedBytes?: number;
  readonly sha256?: string;
  /** The backup id the appliance answered with. */
  readonly backupId?: string;
  readonly status?: string;
  readonly memory: MemoryFigures;
}

export interface SinkJob {
  readonly username: string;
  readonly password: string;
}
export interface SinkReady {
  readonly type: 'ready';
  readonly baseUrl: string;
}
/** The sink's account of one request to the upload endpoint, sent before it answers the client. */
export interface SinkUpload {
  readonly type: 'upload';
  readonly id: string;
  /** The whole body arrived (its length matched content-length, when one was sent). */
  readonly complete: boolean;
  readonly authorized: boolean;
  readonly bytes: number;
  readonly sha256: string;
  readonly contentType?: string;
  readonly contentLength?: string;
  readonly transferEncoding?: string;
  readonly statusCode: number;
  readonly error?: string;
}
/** The sink was asked to delete a backup (uploadFromArchive does that when a check fails after the upload). */
export interface SinkDelete {
  readonly type: 'delete';
  readonly id: string;
}
export type SinkMessage = SinkUpload | SinkDelete;

export interface RssSampler {
  /** Marks "the measured work starts now": records the baseline RSS. */
  markBaseline(): void;
  stop(): MemoryFigures;
}

/** Samples process.memoryUsage() every intervalMs, keeping the breakdown at the highest RSS seen. */
export function startRssSampler(intervalMs = 100): RssSampler {
  let atPeak = process.memoryUsage();
  let baseline = atPeak.rss;
  let samples = 1;
  const sample = (): number => {
    const usage = process.memoryUsage();
    samples += 1;
    if (usage.rss > atPeak.rss) atPeak = usage;
    return usage.rss;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    markBaseline() {
      baseline = sample();
    },
    stop() {
      clearInterval(timer);
      sample();
      return { maxRssKiB: process.resourceUsage().maxRSS, sampledPeakRssBytes: atPeak.rss, baselineRssBytes: baseline, samples, atPeak };
    },
  };
}

/** The first message from the orchestrator: the job. Exits if there is no orchestrator. */
export function receiveJob<T>(): Promise<T> {
  if (!process.send) {
    console.error('This file is a child process of test/bench/copy-benchmark.ts; run `npm run bench` instead.');
    process.exit(2);
  }
  // A child outlives nothing: when the orchestrator goes away, so does the child.
  process.on('disconnect', () => process.exit(0));
  return new Promise((resolve) => process.once('message', (message) => resolve(message as T)));
}

export function reply(message: object): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('no IPC channel to the orchestrator'));
      return;
    }
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

/** What a measured child adds to the common fields of its result. */
export type MeasuredFigures<Result> = Omit<Result, 'type' | 'ok' | 'error' | 'elapsedMs' | 'memory' | 'cpu'>;

/**
 * The measured part of a child: times `work` from the baseline, sends the orchestrator its
 * figures (or its error) with the memory the process used, releases what the child
 * opened, and exits.
 */
export async function measureAndReply<Result extends { readonly type: 'result' }>(
  sampler: RssSampler,
  work: () => Promise<MeasuredFigures<Result>>,
  release: () => void,
): Promise<never> {
  sampler.markBaseline();
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  let result: object;
  try {
    const figures = await work();
    const elapsedMs = performance.now() - started;
    result = { type: 'result', ok: true, elapsedMs, ...figures, memory: sampler.stop(), cpu: cpuSince(cpuAtStart) };
  } catch (error) {
    result = { type: 'result', ok: false, error: describeError(error), elapsedMs: performance.now() - started, memory: sampler.stop(), cpu: cpuSince(cpuAtStart) };
  }
  release();
  await reply(result);
  process.exit(0);
}

/** The CPU time this process used since `start` (a process.cpuUsage() reading). */
export function cpuSince(start: NodeJS.CpuUsage): CpuFigures {
  const used = process.cpuUsage(start);
  return { userMicros: used.user, systemMicros: used.system };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
