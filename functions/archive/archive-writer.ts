// The one way offsite writes into the archive bucket (test/unit/archive-writer.test.ts
// fails when another module sends a Put*). A bucket with Object Lock refuses a PutObject
// that carries neither Content-MD5 nor an x-amz-checksum-* header; the SDK adds a CRC32
// by itself only against AWS (no `endpoint` configured, see archiveClient), so against
// MinIO, Ceph or any other S3-compatible store with Object Lock every unchecked write
// fails. Documents therefore always carry Content-MD5: every S3 implementation checks it,
// it costs one hash of a small body, and it does not depend on the configuration knowing
// that the bucket is locked. Legal holds and tags are sent with the checksum the SDK adds
// to operations S3 documents as requiring one (PutObjectLegalHold, PutObjectTagging).
// The copy itself is streamed by the copier (lib-storage), which sends CRC32 with every
// part when archive.objectLock is set. A place with its own KMS key (archive.kms) gets the
// SSE-KMS parameters on every document: the bucket's default encryption would apply them
// too, but an existing bucket's default may name another key, and the copy must not.
import { createHash } from 'node:crypto';
import { DeleteObjectTaggingCommand, PutObjectCommand, PutObjectLegalHoldCommand, PutObjectTaggingCommand, type S3Client, type Tag } from '@aws-sdk/client-s3';
import { encryptionParams, type WriteEncryption } from './places';

export interface ArchiveWriter {
  /** Writes a whole object (a manifest, record or report) with its Content-MD5. */
  putDocument(key: string, body: string, contentType: string): Promise<void>;
  /** Writes a JSON document (pretty-printed, newline-terminated unless `compact`). */
  putJson(key: string, document: unknown, options?: { compact?: boolean }): Promise<void>;
  setLegalHold(key: string, on: boolean): Promise<void>;
  /** Replaces the object's tags; no tags left deletes the tag set (S3-compatible stores refuse an empty one). */
  setTags(key: string, tags: readonly Tag[]): Promise<void>;
}

export function contentMd5(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('base64');
}

/**
 * The writer for one bucket. `encryption`: the place the documents go to (its `kmsKeyArn`)
 * or `encryptionParams(place)`; absent, the bucket's default encryption applies.
 */
export function archiveWriter(s3: S3Client, bucket: string, encryption?: WriteEncryption | { readonly kmsKeyArn?: string | undefined }): ArchiveWriter {
  const sse = encryption === undefined ? {} : 'kmsKeyArn' in encryption ? encryptionParams(encryption) : encryption;
  const putDocument = async (key: string, body: string, contentType: string): Promise<void> => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, ContentMD5: contentMd5(body), ...sse }));
  };
  return {
    putDocument,
    putJson: (key, document, options = {}) => putDocument(key, options.compact ? JSON.stringify(document) : `${JSON.stringify(document, null, 2)}\n`, 'application/json'),
    async setLegalHold(key, on) {
      await s3.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: key, LegalHold: { Status: on ? 'ON' : 'OFF' } }));
    },
    async setTags(key, tags) {
      if (tags.length === 0) await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: key }));
      else await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: [...tags] } }));
    },
  };
}
