// One archived copy as the copier leaves it, for tests that lay out an archive by hand:
// the object, then its manifest (SHA-256 and sizes of the bytes given).
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { manifestKeyFor, type Manifest } from '../../functions/archive/manifest';

export interface ArchivedCopy {
  readonly target: string;
  readonly objectKey: string;
  readonly sourceBackupId: string;
  /** ISO times; copiedAt defaults to createdAt. */
  readonly createdAt: string;
  readonly copiedAt?: string;
  readonly bytes: Buffer;
}

/** Puts the object, then its manifest, into the bucket; returns the manifest. */
export async function putArchivedCopy(s3: S3Client, bucket: string, copy: ArchivedCopy): Promise<Manifest> {
  const manifest: Manifest = {
    formatVersion: 1,
    target: copy.target,
    kind: 'netbox-cloud',
    sourceBackupId: copy.sourceBackupId,
    objectKey: copy.objectKey,
    sizeBytes: copy.bytes.length,
    sha256: createHash('sha256').update(copy.bytes).digest('hex'),
    sourceChecksum: null,
    sourceChecksumAlgorithm: null,
    sourceChecksumVerified: false,
    sourceSizeBytes: copy.bytes.length,
    createdAt: copy.createdAt,
    copiedAt: copy.copiedAt ?? copy.createdAt,
    contentType: 'application/octet-stream',
    source: {},
  };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: copy.objectKey, Body: copy.bytes }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKeyFor(copy.objectKey), Body: JSON.stringify(manifest) }));
  return manifest;
}
