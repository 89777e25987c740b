// Where the local store keeps the parts of a multipart upload. s3rver writes each part to a
// file of its own, and completing the upload then writes every byte once more, into the
// object: at 1 GiB, 1-5 CPU s of kernel time on these machines, after the client's last
// byte, which S3 does not spend (it completes an upload without copying it). Clients
// upload parts of one size (the SDK, rclone and the AWS CLI all do), so in an upload whose
// parts are `stride` bytes, part n belongs at (n - 1) × stride of the object. The first
// upload of a part number that fits the stride is written there, into one sparse file per
// upload (the assembly), and a completion whose parts all sit where they belong renames
// that file into place (local-s3-completion.ts). Anything else (a part uploaded again, a
// part longer than the stride, a body without a length) gets a file of its own, and the
// completion joins the parts as s3rver did.
//
// On disk, per upload directory: `stride` once a part of at least 5 MiB has fixed it;
// per part, `<n>.md5` (its ETag, written last: a part exists once that file does) and
// either `<n>.at` ("<offset> <size>" in the assembly) or the file `<n>`.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3Error from 's3rver/lib/models/error';
import type { Md5Worker } from './local-s3-md5';

/** S3's minimum size for every part but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;
/** S3's largest object: a part placed beyond it (a sparse part number) keeps a file of its own. */
const MAX_OBJECT_BYTES = 5 * 1024 ** 4;

/** Where one stored part's bytes are: a file, and the range in it. */
export interface StoredPart {
  readonly number: number;
  readonly md5Hex: string;
  readonly file: string;
  readonly offset: number;
  readonly sizeBytes: number;
}

/** What s3rver's controller hands the store for UploadPart: the request itself. */
type PartBody = Readable & { readonly headers?: Record<string, string | string[] | undefined> };

interface UploadState {
  /** The stride once fixed (read from disk first, after a restart); chained so concurrent parts agree on one. */
  stride: Promise<number | undefined>;
  /** Part numbers written into the assembly by this process: an upload again goes to a file, never over bytes still arriving. */
  readonly claimed: Set<number>;
  /** Parts being written into the assembly right now. */
  writing: number;
  /** Set when a completion starts: no part enters the assembly after that. */
  completing: boolean;
}

export function assemblyPath(uploadDirectory: string): string {
  return join(uploadDirectory, 'assembly');
}

/** S3's words for an upload that is not open. */
export const NO_SUCH_UPLOAD = 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.';

// Structural, not `instanceof Error`: under jest, errors from node:fs come from another realm.
export function isMissingFile(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

/** The file's text, or undefined when it does not exist. */
export async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isMissingFile(error)) return undefined;
    throw error;
  }
}

/** A part number as S3 takes it, or InvalidArgument (s3rver would put any text into a path). */
function partNumberOf(text: string): number {
  const number = Number(text);
  if (!/^\d+$/.test(text) || number < 1 || number > MAX_PART_NUMBER) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
      ArgumentName: 'partNumber',
      ArgumentValue: text,
    });
  }
  return number;
}

/** The body's announced length, when it is the length of the bytes stored (not an aws-chunked encoding of them). */
function plainLength(body: PartBody): number | undefined {
  const headers = body.headers ?? {};
  const encoding = headers['content-encoding'];
  if (headers['x-amz-decoded-content-length'] !== undefined || (typeof encoding === 'string' && encoding.includes('aws-chunked'))) return undefined;
  const length = headers['content-length'];
  return typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : undefined;
}

/** The parts of every open upload of one store, and the little this process remembers about them. */
export class UploadParts {
  private readonly uploads = new Map<string, UploadState>();

  constructor(private readonly md5: Md5Worker) {}

  /** Streams the body into `into`, its MD5 computed on the worker on the way; its size and MD5. */
  private async receive(body: Readable, into: Writable): Promise<{ sizeBytes: number; md5Hex: string }> {
    const hashing = this.md5.stream();
    await pipeline(body, hashing, into);
    return { sizeBytes: hashing.sizeBytes, md5Hex: hashing.md5Hex };
  }

  private stateOf(uploadDirectory: string): UploadState {
    let state = this.uploads.get(uploadDirectory);
    if (!state) {
      state = {
        stride: readIfPresent(join(uploadDirectory, 'stride')).then((text) => (text === undefined ? undefined : Number(text))),
        claimed: new Set(),
        writing: 0,
        completing: false,
      };
      this.uploads.set(uploadDirectory, state);
    }
    return state;
  }

  /** The stride, fixed by this part when none is yet and it is long enough to be a part that is not the last. */
  private strideFor(uploadDirectory: string, state: UploadState, length: number | undefined): Promise<number | undefined> {
    state.stride = state.stride.then(async (stride) => {
      if (stride !== undefined || length === undefined || length < MIN_PART_BYTES) return stride;
      await writeFile(join(uploadDirectory, 'stride'), String(length));
      return length;
    });
    return state.stride;
  }

  /** UploadPart: stores the body as part `partNumberText` of the upload, as S3 does (an upload again replaces the part). */
  async put(uploadDirectory: string, partNumberText: string, body: PartBody): Promise<{ size: number; md5: string }> {
    const number = partNumberOf(partNumberText);
    const state = this.stateOf(uploadDirectory);
    const length = plainLength(body);
    const stride = await this.strideFor(uploadDirectory, state, length).catch((error: unknown) => {
      body.resume();
      throw noSuchUploadIfGone(error);
    });
    const fits =
      !state.completing && length !== undefined && stride !== undefined && length <= stride && (number - 1) * stride + length <= MAX_OBJECT_BYTES && !state.claimed.has(number);
    const stored = fits ? await this.putIntoAssembly(uploadDirectory, state, number, (number - 1) * stride, body) : await this.putIntoFile(uploadDirectory, number, body);
    return { size: stored.sizeBytes, md5: stored.md5Hex };
  }

  private async putIntoAssembly(uploadDirectory: string, state: UploadState, number: number, offset: number, body: PartBody): Promise<{ sizeBytes: number; md5Hex: string }> {
    state.claimed.add(number);
    state.writing += 1;
    const record = join(uploadDirectory, String(number));
    try {
      // A part stored before a restart of the store may claim these bytes: it stops counting first.
      await Promise.all([rm(`${record}.md5`, { force: true }), rm(`${record}.at`, { force: true })]);
      const assembly = await open(assemblyPath(uploadDirectory), constants.O_WRONLY | constants.O_CREAT);
      const stored = await this.receive(body, assembly.createWriteStream({ start: offset }));
      await writeFile(`${record}.at`, `${offset} ${stored.sizeBytes}`);
      await rm(record, { force: true });
      await writeFile(`${record}.md5`, stored.md5Hex);
      return stored;
    } catch (error) {
      throw noSuchUploadIfGone(error);
    } finally {
      state.writing -= 1;
    }
  }

  /** A part in a file of its own, written beside the old one and renamed over it only once complete. */
  private async putIntoFile(uploadDirectory: string, number: number, body: PartBody): Promise<{ sizeBytes: number; md5Hex: string }> {
    const record = join(uploadDirectory, String(number));
    const incoming = `${record}.incoming-${randomBytes(6).toString('hex')}`;
    try {
      const file = await open(incoming, 'w');
      const stored = await this.receive(body, file.createWriteStream());
      await rm(`${record}.md5`, { force: true });
      await rename(incoming, record);
      await rm(`${record}.at`, { force: true });
      await writeFile(`${record}.md5`, stored.md5Hex);
      return stored;
    } catch (error) {
      await rm(incoming, { force: true });
      throw noSuchUploadIfGone(error);
    }
  }

  /**
   * For CompleteMultipartUpload: from now on no part enters the upload's assembly.
   * `quiet` says whether none is being written into it, so that renaming it cannot
   * take bytes still arriving along; settle() after the completion forgets the upload
   * (done) or lets its parts use the assembly again (failed: the client may retry).
   */
  beginCompletion(uploadDirectory: string): { readonly quiet: boolean; settle(done: boolean): void } {
    const state = this.stateOf(uploadDirectory);
    state.completing = true;
    return {
      quiet: state.writing === 0,
      settle: (done) => {
        if (done) this.uploads.delete(uploadDirectory);
        else state.completing = false;
      },
    };
  }

  /** AbortMultipartUpload removed the upload: forget it. */
  forget(uploadDirectory: string): void {
    this.uploads.delete(uploadDirectory);
  }
}

/** The upload directory vanished under the part (aborted meanwhile): NoSuchUpload, as S3 answers. */
function noSuchUploadIfGone(error: unknown): unknown {
  if (!isMissingFile(error)) return error;
  return new S3Error('NoSuchUpload', NO_SUCH_UPLOAD);
}

/** Part `number` as stored: its ETag and where its bytes are; undefined when there is no such part. */
export async function storedPart(uploadDirectory: string, number: number): Promise<StoredPart | undefined> {
  const record = join(uploadDirectory, String(number));
  const md5Hex = await readIfPresent(`${record}.md5`);
  if (md5Hex === undefined) return undefined;
  const at = await readIfPresent(`${record}.at`);
  if (at !== undefined) {
    const [offset, sizeBytes] = at.split(' ').map(Number);
    if (offset === undefined || sizeBytes === undefined) return undefined;
    return { number, md5Hex, file: assemblyPath(uploadDirectory), offset, sizeBytes };
  }
  try {
    return { number, md5Hex, file: record, offset: 0, sizeBytes: (await stat(record)).size };
  } catch (error) {
    if (isMissingFile(error)) return undefined;
    throw error;
  }
}
