// CompleteMultipartUpload for the local store, as S3 answers it. s3rver 3.x ignores the
// part list's ETags, accepts parts of any size, gives the object the MD5 of its whole
// bytes as ETag, and builds the object by streaming every part through a second MD5 pass
// (at 1 GiB, 3-5 s of the store's CPU after the client's last byte). S3 (and moto) check
// each listed part's ETag (InvalidPart), their order (InvalidPartOrder) and that every
// part but the last has at least 5 MiB (EntityTooSmall), and give a multipart object the
// ETag "<MD5 of the parts' binary MD5s>-<part count>" without reading its bytes again.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import S3Error from 's3rver/lib/models/error';
import type S3rver from 's3rver';

/** A part as s3rver's controller hands it over from the request's XML. */
export interface ListedPart {
  readonly number: number;
  readonly etag: string;
}

/** S3's minimum size for every part but the last. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Parts are joined through one buffer of this size, whatever their size (S3 allows 5 GiB parts). */
const JOIN_BUFFER_BYTES = 8 * 1024 * 1024;

const INVALID_PART =
  "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.";

function isMissingFile(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

interface CheckedPart {
  readonly path: string;
  readonly md5: Buffer;
  readonly sizeBytes: number;
}

/** The listed parts as stored, or the S3 error that CompleteMultipartUpload answers for the list. */
async function checkParts(uploadDirectory: string, listed: readonly ListedPart[]): Promise<CheckedPart[]> {
  const ascending = listed.every((part, index) => Number.isInteger(part.number) && part.number > (listed[index - 1]?.number ?? 0));
  if (!ascending) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
  const checked: CheckedPart[] = [];
  for (const [index, part] of listed.entries()) {
    const path = join(uploadDirectory, String(part.number));
    let md5Hex: string;
    let sizeBytes: number;
    try {
      [md5Hex, { size: sizeBytes }] = await Promise.all([readFile(`${path}.md5`, 'utf8'), stat(path)]);
    } catch (error) {
      if (isMissingFile(error)) throw new S3Error('InvalidPart', INVALID_PART, { PartNumber: String(part.number), ETag: part.etag });
      throw error;
    }
    if (md5Hex !== part.etag) throw new S3Error('InvalidPart', INVALID_PART, { PartNumber: String(part.number), ETag: part.etag });
    if (index < listed.length - 1 && sizeBytes < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
        PartNumber: String(part.number),
        ProposedSize: String(sizeBytes),
        MinSizeAllowed: String(MIN_PART_BYTES),
      });
    }
    checked.push({ path, md5: Buffer.from(md5Hex, 'hex'), sizeBytes });
  }
  return checked;
}

/** Writes the parts one after another into `target`, through one buffer. */
async function joinParts(parts: readonly CheckedPart[], target: string): Promise<void> {
  const output = await open(target, 'w');
  try {
    const buffer = Buffer.allocUnsafe(JOIN_BUFFER_BYTES);
    for (const part of parts) {
      const input = await open(part.path, 'r');
      try {
        for (;;) {
          const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) break;
          await output.write(buffer, 0, bytesRead);
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
 * object written once from them and renamed into place (a reader never sees half of it),
 * its ETag the multipart one. What s3rver's controller answers with: the size and ETag.
 */
export async function completeFromParts(
  store: S3rver.FilesystemStore,
  bucket: string,
  uploadId: string,
  listed: readonly ListedPart[],
): Promise<{ readonly size: number; readonly md5: string }> {
  const uploadDirectory = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const [key, metadata] = await Promise.all([readFile(join(uploadDirectory, 'key'), 'utf8'), readFile(join(uploadDirectory, 'metadata'), 'utf8')]);
  const parts = await checkParts(uploadDirectory, listed);
  const objectPath = store.getResourcePath(bucket, key, 'object');
  await mkdir(dirname(objectPath), { recursive: true });
  const completing = join(uploadDirectory, 'completing');
  await joinParts(parts, completing);
  const etag = `${createHash('md5')
    .update(Buffer.concat(parts.map((part) => part.md5)))
    .digest('hex')}-${parts.length}`;
  await rename(completing, objectPath);
  await store.putMetadata(bucket, key, JSON.parse(metadata) as Record<string, string>, etag);
  await rm(uploadDirectory, { recursive: true, force: true });
  return { size: parts.reduce((total, part) => total + part.sizeBytes, 0), md5: etag };
}
