// A copy into a local store as the copier's tests make it: the body in 64 KiB chunks, as a
// socket delivers it (the download is still going when a part fails), its SHA-256 as the
// vendor's checksum, 5 MiB parts.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CopyRequest } from '../../functions/archive/copier';

const CHUNK_BYTES = 64 * 1024;
const PART_BYTES = 5 * 1024 * 1024;

export function chunkedCopyRequest(s3: S3Client, bucket: string, key: string, body: Buffer, extra: Partial<CopyRequest> = {}): CopyRequest {
  const chunks = Array.from({ length: Math.ceil(body.length / CHUNK_BYTES) }, (_, index) => body.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES));
  return {
    source: { where: 'test', open: () => Promise.resolve({ body: Readable.from(chunks), contentType: 'application/gzip', contentLength: body.length }) },
    expected: { sizeBytes: body.length, checksum: createHash('sha256').update(body).digest('hex') },
    s3,
    bucket,
    objectKey: key,
    describe: { target: 't', kind: 'netbox-cloud', sourceBackupId: 'b-1', createdAt: '2026-03-23T01:17:10Z', source: {} },
    partSizeBytes: PART_BYTES,
    ...extra,
  };
}
