// CompleteMultipartUpload for the local store, as S3 answers it. s3rver 3.x ignores the
// part list's ETags, accepts parts of any size, gives the object the MD5 of its whole
// bytes as ETag, and builds the object by streaming every part through a second MD5 pass
// (at 1 GiB, 3-5 s of the store's CPU after the client's last byte). S3 (and moto) check
// each listed part's ETag (InvalidPart), their order (InvalidPartOrder) and that every
// part but the last has at least 5 MiB (EntityTooSmall), and give a multipart object the
// ETag "<MD5 of the parts' binary MD5s>-<part count>" without reading its bytes again.
// Parts that already sit where they belong (local-s3-parts.ts) become the object by a
// rename; only others are copied.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import S3Error from 's3rver/lib/models/error';
import type S3rver from 's3rver';
import { assemblyPath, isMissingFile, MIN_PART_BYTES, storedPart, type StoredPart, type UploadParts } from './local-s3-parts';

/** A part as s3rver's controller hands it over from the request's XML. */
export interface ListedPart {
  readonly number: number;
  readonly etag: string;
}

/** Parts are joined through one buffer of this size, whatever their size (S3 allows 5 GiB parts). */
const JOIN_BUFFER_BYTES = 8 * 1024 * 1024;

const INVALID_PART =
  "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.";

/** The size of the upload's assembly (0 when it has none): a part recorded past its end is gone. */
async function assemblySize(uploadDirectory: string): Promise<number> {
  try {
    return (await stat(assemblyPath(uploadDirectory))).size;
  } catch (error) {
    if (isMissingFile(error)) return 0;
    throw error;
  }
}

/** The listed parts as stored, or the S3 error that CompleteMultipartUpload answers for the list. */
async function checkParts(uploadDirectory: string, listed: readonly ListedPart[]): Promise<StoredPart[]> {
  const ascending = listed.every((part, index) => Number.isInteger(part.number) && part.number > (listed[index - 1]?.number ?? 0));
  if (!ascending) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
  const assembled = await assemblySize(uploadDirectory);
  const checked: StoredPart[] = [];
  for (const [index, part] of listed.entries()) {
    const stored = await storedPart(uploadDirectory, part.number);
    const present = stored !== undefined && (stored.file !== assemblyPath(uploadDirectory) || stored.offset + stored.sizeBytes <= assembled);
    if (!present || stored.md5Hex !== part.etag) throw new S3Error('InvalidPart', INVALID_PART, { PartNumber: String(part.number), ETag: part.etag });
    if (index < listed.length - 1 && stored.sizeBytes < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
        PartNumber: String(part.number),
        ProposedSize: String(stored.sizeBytes),
        MinSizeAllowed: String(MIN_PART_BYTES),
      });
    }
    checked.push(stored);
  }
  return checked;
}

/** Whether the parts are parts 1..N of the assembly, each at (n - 1) × the first one's size: then the assembly is the object. */
function inPlace(uploadDirectory: string, parts: readonly StoredPart[]): boolean {
  const stride = parts[0]?.sizeBytes ?? 0;
  return parts.every(
    (part, index) =>
      part.file === assemblyPath(uploadDirectory) &&
      part.number === index + 1 &&
      part.offset === index * stride &&
      (index === parts.length - 1 ? part.sizeBytes <= stride : part.sizeBytes === stride),
  );
}

/** Writes the parts one after another into `target`, through one buffer. */
async function joinParts(parts: readonly StoredPart[], target: string): Promise<void> {
  const output = await open(target, 'w');
  try {
    const buffer = Buffer.allocUnsafe(JOIN_BUFFER_BYTES);
    for (const part of parts) {
      const input = await open(part.file, 'r');
      try {
        for (let done = 0; done < part.sizeBytes; ) {
          const { bytesRead } = await input.read(buffer, 0, Math.min(buffer.length, part.sizeBytes - done), part.offset + done);
          if (bytesRead === 0) throw new Error(`part ${part.number} ended after ${done} of its ${part.sizeBytes} bytes`);
          await output.write(buffer, 0, bytesRead);
          done += bytesRead;
        }
      } finally {
        await input.close();
      }
    }
  } finally {
    await output.close();
  }
}

/**
 * The store's putObjectMultipart, as S3 completes an upload: the listed parts checked, the
 * object made from them (the assembly renamed when they are in place, else written once
 * from them) and renamed into place (a reader never sees half of it), its ETag the
 * multipart one. What s3rver's controller answers with: the size and ETag.
 */
export async function completeFromParts(
  store: S3rver.FilesystemStore,
  uploads: UploadParts,
  bucket: string,
  uploadDirectory: string,
  listed: readonly ListedPart[],
): Promise<{ readonly size: number; readonly md5: string }> {
  const completion = uploads.beginCompletion(uploadDirectory);
  try {
    const [key, metadata] = await Promise.all([readFile(join(uploadDirectory, 'key'), 'utf8'), readFile(join(uploadDirectory, 'metadata'), 'utf8')]);
    const parts = await checkParts(uploadDirectory, listed);
    const objectPath = store.getResourcePath(bucket, key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const sizeBytes = parts.reduce((total, part) => total + part.sizeBytes, 0);
    let completed = join(uploadDirectory, 'completing');
    if (completion.quiet && inPlace(uploadDirectory, parts)) {
      // Parts uploaded but not listed may lie beyond the last listed one.
      completed = assemblyPath(uploadDirectory);
      await truncate(completed, sizeBytes);
    } else {
      await joinParts(parts, completed);
    }
    const etag = `${createHash('md5')
      .update(Buffer.concat(parts.map((part) => Buffer.from(part.md5Hex, 'hex'))))
      .digest('hex')}-${parts.length}`;
    await rename(completed, objectPath);
    await store.putMetadata(bucket, key, JSON.parse(metadata) as Record<string, string>, etag);
    await rm(uploadDirectory, { recursive: true, force: true });
    completion.settle(true);
    return { size: sizeBytes, md5: etag };
  } catch (error) {
    completion.settle(false);
    throw error;
  }
}
