import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { localS3Client } from '../support/harness';

const BUCKET = 'offsite-archive';
const MIB = 1024 * 1024;

let directory: string;
let store: LocalS3;
let s3: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'local-s3-test-'));
  store = await startLocalS3({ directory, buckets: [BUCKET] });
  s3 = localS3Client(store);
});

afterAll(async () => {
  s3.destroy();
  await store.stop();
  await rm(directory, { recursive: true, force: true });
});

/** Distinct bytes per offset, so a part stitched in the wrong order would not compare equal. */
function patternedBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let offset = 0; offset + 4 <= length; offset += 4) bytes.writeUInt32BE(offset, offset);
  return bytes;
}

async function openUploadIds(): Promise<string[]> {
  const listing = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  return (listing.Uploads ?? []).map((upload) => upload.UploadId ?? '');
}

describe('local S3 store', () => {
  test('stores, lists and returns an object', async () => {
    // Prepare
    const key = 'backups/netbox-prod/manifest.json';

    // Act
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{"ok":true}', ContentType: 'application/json' }));
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'backups/netbox-prod/' }));
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));

    // Assess
    expect(listing.Contents?.map((entry) => entry.Key)).toContain(key);
    expect(await object.Body?.transformToString()).toBe('{"ok":true}');
  });

  test('completes a multipart upload larger than 5 MiB and leaves no upload open', async () => {
    // Prepare
    const key = 'backups/netbox-prod/large.bin';
    const content = patternedBytes(12 * MIB + 123);

    // Act
    await new Upload({ client: s3, params: { Bucket: BUCKET, Key: key, Body: content }, partSize: 5 * MIB }).done();
    const stored = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const storedBytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);

    // Assess
    expect(storedBytes.equals(content)).toBe(true);
    expect(await openUploadIds()).toEqual([]);
  });

  test('lists an open multipart upload and removes it on AbortMultipartUpload', async () => {
    // Prepare
    const key = 'backups/netbox-prod/aborted.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: patternedBytes(1024) }));
    const openBeforeAbort = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));

    // Act
    const abort = await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

    // Assess
    expect(openBeforeAbort.Uploads).toEqual([expect.objectContaining({ Key: key, UploadId, Initiated: expect.any(Date) })]);
    expect(abort.$metadata.httpStatusCode).toBe(204);
    expect(await openUploadIds()).toEqual([]);
  });

  test('answers NoSuchUpload for a part or an abort after the upload was aborted', async () => {
    // Prepare
    const key = 'backups/netbox-prod/aborted-twice.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

    // Act
    const lateBody = patternedBytes(1024);
    const latePart = s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: lateBody }));
    const secondAbort = s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

    // Assess
    await expect(latePart).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(secondAbort).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect(await openUploadIds()).toEqual([]);
  });

  test('answers NoSuchBucket when listing uploads of a bucket that does not exist', async () => {
    // Prepare
    const command = new ListMultipartUploadsCommand({ Bucket: 'no-such-bucket' });

    // Act
    const listing = s3.send(command);

    // Assess
    await expect(listing).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });
});
