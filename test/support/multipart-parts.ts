// Multipart uploads part by part, for the local store's tests: bytes that show a part in
// the wrong place, and uploads left open for a test to complete its own way.
import { createHash } from 'node:crypto';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';

export const MIB = 1024 * 1024;

/** Distinct bytes per offset from `seed`, so a part stitched in the wrong order or place would not compare equal. */
export function patternedBytes(length: number, seed = 0): Buffer {
  const bytes = Buffer.alloc(length);
  for (let offset = 0; offset + 4 <= length; offset += 4) bytes.writeUInt32BE((offset + seed) >>> 0, offset);
  return bytes;
}

export const md5 = (bytes: Buffer): Buffer => createHash('md5').update(bytes).digest();

export interface OpenUpload {
  readonly key: string;
  readonly uploadId: string;
}

export async function createUpload(s3: S3Client, bucket: string, key: string): Promise<OpenUpload> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  return { key, uploadId: UploadId ?? '' };
}

/** Uploads one part; its ETag. */
export async function uploadPart(s3: S3Client, bucket: string, upload: OpenUpload, partNumber: number, body: Buffer): Promise<string> {
  const answer = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId, PartNumber: partNumber, Body: body }));
  return answer.ETag ?? '';
}

/** Uploads each buffer as a part (numbered from 1) of a new multipart upload, one after another; the upload stays open. */
export async function uploadParts(s3: S3Client, bucket: string, key: string, parts: readonly Buffer[]): Promise<OpenUpload & { readonly etags: string[] }> {
  const upload = await createUpload(s3, bucket, key);
  const etags: string[] = [];
  for (const [index, body] of parts.entries()) etags.push(await uploadPart(s3, bucket, upload, index + 1, body));
  return { ...upload, etags };
}

export function completeUpload(s3: S3Client, bucket: string, upload: OpenUpload, parts: readonly { readonly partNumber: number; readonly etag: string }[]): Promise<unknown> {
  return s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: upload.key,
      UploadId: upload.uploadId,
      MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
    }),
  );
}
