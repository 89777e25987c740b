import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { localStoreForSuite } from '../support/local-store';
import { MIB, md5, patternedBytes, uploadParts as uploadPartsOf } from '../support/multipart-parts';

const BUCKET = 'offsite-archive';

const local = localStoreForSuite('local-s3-test-', [BUCKET]);

const uploadParts = (key: string, parts: readonly Buffer[]): ReturnType<typeof uploadPartsOf> => uploadPartsOf(local.s3, BUCKET, key, parts);

async function objectExists(key: string): Promise<boolean> {
  return local.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    () => true,
    (error: unknown) => {
      if ((error as { name?: string }).name === 'NotFound') return false;
      throw error;
    },
  );
}

async function openUploadIds(): Promise<string[]> {
  const listing = await local.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  return (listing.Uploads ?? []).map((upload) => upload.UploadId ?? '');
}

describe('local S3 store', () => {
  test('stores, lists and returns an object', async () => {
    // Prepare
    const key = 'backups/netbox-prod/manifest.json';

    // Act
    await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{"ok":true}', ContentType: 'application/json' }));
    const listing = await local.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'backups/netbox-prod/' }));
    const object = await local.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));

    // Assess
    expect(listing.Contents?.map((entry) => entry.Key)).toContain(key);
    expect(await object.Body?.transformToString()).toBe('{"ok":true}');
  });

  test('completes a multipart upload larger than 5 MiB and leaves no upload open', async () => {
    // Prepare
    const key = 'backups/netbox-prod/large.bin';
    const content = patternedBytes(12 * MIB + 123);

    // Act
    await new Upload({ client: local.s3, params: { Bucket: BUCKET, Key: key, Body: content }, partSize: 5 * MIB }).done();
    const stored = await local.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const storedBytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);

    // Assess
    expect(storedBytes.equals(content)).toBe(true);
    expect(await openUploadIds()).toEqual([]);
  });

  test("gives a completed multipart object S3's ETag: the MD5 of its parts' MD5s, then the part count", async () => {
    // Prepare
    const key = 'backups/netbox-prod/etag.bin';
    const parts = [patternedBytes(5 * MIB), patternedBytes(1000)];
    const { uploadId, etags } = await uploadParts(key, parts);

    // Act
    const completed = await local.s3.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) } }),
    );
    const head = await local.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));

    // Assess
    const expected = `"${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-2"`;
    expect(completed.ETag).toBe(expected);
    expect(head.ETag).toBe(expected);
    expect(head.ContentLength).toBe(5 * MIB + 1000);
  });

  test('refuses a completion naming a part by another ETag (InvalidPart), and keeps the upload open with no object', async () => {
    // Prepare
    const key = 'backups/netbox-prod/wrong-etag.bin';
    const { uploadId, etags } = await uploadParts(key, [patternedBytes(5 * MIB), patternedBytes(10)]);
    const wrong = `"${md5(Buffer.from('other bytes')).toString('hex')}"`;

    // Act
    const completing = local.s3.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: [{ ETag: etags[0], PartNumber: 1 }, { ETag: wrong, PartNumber: 2 }] } }),
    );

    // Assess
    await expect(completing).rejects.toMatchObject({ name: 'InvalidPart', $metadata: { httpStatusCode: 400 } });
    expect(await objectExists(key)).toBe(false);
    expect(await openUploadIds()).toContain(uploadId);
    await local.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
  });

  test('refuses a part below 5 MiB that is not the last (EntityTooSmall), and parts out of order (InvalidPartOrder)', async () => {
    // Prepare
    const key = 'backups/netbox-prod/small-parts.bin';
    const { uploadId, etags } = await uploadParts(key, [patternedBytes(1024), patternedBytes(1024)]);
    const complete = (order: readonly number[]): Promise<unknown> =>
      local.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: order.map((partNumber) => ({ ETag: etags[partNumber - 1], PartNumber: partNumber })) },
        }),
      );

    // Act
    const tooSmall = await complete([1, 2]).catch((error: unknown) => error);
    const outOfOrder = await complete([2, 1]).catch((error: unknown) => error);
    const existedBeforeValidList = await objectExists(key);
    await complete([2]);

    // Assess
    expect(tooSmall).toMatchObject({ name: 'EntityTooSmall', $metadata: { httpStatusCode: 400 } });
    expect(outOfOrder).toMatchObject({ name: 'InvalidPartOrder', $metadata: { httpStatusCode: 400 } });
    expect(existedBeforeValidList).toBe(false);
    expect(await objectExists(key)).toBe(true);
  });

  test('lists an open multipart upload and removes it on AbortMultipartUpload', async () => {
    // Prepare
    const key = 'backups/netbox-prod/aborted.bin';
    const { UploadId } = await local.s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    await local.s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: patternedBytes(1024) }));
    const openBeforeAbort = await local.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));

    // Act
    const abort = await local.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

    // Assess
    expect(openBeforeAbort.Uploads).toEqual([expect.objectContaining({ Key: key, UploadId, Initiated: expect.any(Date) })]);
    expect(abort.$metadata.httpStatusCode).toBe(204);
    expect(await openUploadIds()).toEqual([]);
  });

  test('answers NoSuchUpload for a part or an abort after the upload was aborted', async () => {
    // Prepare
    const key = 'backups/netbox-prod/aborted-twice.bin';
    const { UploadId } = await local.s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    await local.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

    // Act
    const lateBody = patternedBytes(1024);
    const latePart = local.s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: lateBody }));
    const secondAbort = local.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

    // Assess
    await expect(latePart).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(secondAbort).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect(await openUploadIds()).toEqual([]);
  });

  test('answers NoSuchBucket when listing uploads of a bucket that does not exist', async () => {
    // Prepare
    const command = new ListMultipartUploadsCommand({ Bucket: 'no-such-bucket' });

    // Act
    const listing = local.s3.send(command);

    // Assess
    await expect(listing).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });
});
