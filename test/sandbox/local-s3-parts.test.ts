import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { readObject } from '../support/harness';
import { localStoreForSuite } from '../support/local-store';
import { MIB, completeUpload, createUpload, patternedBytes, uploadPart, uploadParts } from '../support/multipart-parts';

// Where the local store keeps the parts of an upload (bin/sandbox/local-s3-parts.ts): in
// place in one file when they come in one size, in files of their own otherwise. Whichever,
// the object must be the listed parts in order, as S3 makes it.

const BUCKET = 'offsite-archive';

const local = localStoreForSuite('local-s3-parts-test-', [BUCKET]);

const listed = (etags: readonly string[], numbers: readonly number[]): { partNumber: number; etag: string }[] =>
  numbers.map((partNumber) => ({ partNumber, etag: etags[partNumber - 1] ?? '' }));

/** Waits (up to 10 s) for `condition`, which the store makes true while a request is in flight. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 10) {
    if (waited > 10_000) throw new Error('the store never got there');
    await sleep(10);
  }
}

describe('local S3 store, parts of a multipart upload', () => {
  test('builds the object from parts uploaded at once, whatever order they arrive in', async () => {
    // Prepare
    const key = 'parts/concurrent.bin';
    const parts = [patternedBytes(5 * MIB, 1), patternedBytes(5 * MIB, 2), patternedBytes(5 * MIB, 3), patternedBytes(1000, 4)];
    const upload = await createUpload(local.s3, BUCKET, key);

    // Act
    const etags = await Promise.all(parts.map((body, index) => uploadPart(local.s3, BUCKET, upload, index + 1, body)).reverse());
    await completeUpload(local.s3, BUCKET, upload, listed(etags.reverse(), [1, 2, 3, 4]));

    // Assess
    expect((await readObject(local.s3, BUCKET, key)).equals(Buffer.concat(parts))).toBe(true);
  });

  test('turns parts of one size that sit in place into the object without writing their bytes again', async () => {
    // Prepare
    const key = 'parts/in-place.bin';
    const parts = [patternedBytes(5 * MIB, 1), patternedBytes(5 * MIB, 2), patternedBytes(77, 3)];
    const upload = await uploadParts(local.s3, BUCKET, key, parts);
    const uploadDirectory = join(local.directory, BUCKET, '._S3rver_uploads', upload.uploadId);
    const heldIn = (await readdir(uploadDirectory)).filter((name) => !name.includes('.') && /^\d+$/.test(name));
    const assembly = await stat(join(uploadDirectory, 'assembly'));

    // Act
    await completeUpload(local.s3, BUCKET, upload, listed(upload.etags, [1, 2, 3]));

    // Assess
    expect(heldIn).toEqual([]);
    expect((await stat(join(local.directory, BUCKET, 'parts', 'in-place.bin._S3rver_object'))).ino).toBe(assembly.ino);
    expect((await readObject(local.s3, BUCKET, key)).equals(Buffer.concat(parts))).toBe(true);
  });

  test('keeps the latest upload of a part number, and refuses a completion naming the one it replaced (InvalidPart)', async () => {
    // Prepare
    const key = 'parts/uploaded-again.bin';
    const first = patternedBytes(5 * MIB, 1);
    const again = patternedBytes(5 * MIB, 9);
    const last = patternedBytes(1000, 2);
    const upload = await uploadParts(local.s3, BUCKET, key, [first, last]);
    const replaced = upload.etags[0] ?? '';

    // Act
    const latest = await uploadPart(local.s3, BUCKET, upload, 1, again);
    const naming = await completeUpload(local.s3, BUCKET, upload, [{ partNumber: 1, etag: replaced }, ...listed(upload.etags, [2])]).catch((error: unknown) => error);
    await completeUpload(local.s3, BUCKET, upload, [{ partNumber: 1, etag: latest }, ...listed(upload.etags, [2])]);

    // Assess
    expect(naming).toMatchObject({ name: 'InvalidPart' });
    expect((await readObject(local.s3, BUCKET, key)).equals(Buffer.concat([again, last]))).toBe(true);
  });

  test('leaves out a part uploaded but not listed, after the last listed part or between two', async () => {
    // Prepare
    const parts = [patternedBytes(5 * MIB, 1), patternedBytes(5 * MIB, 2), patternedBytes(5 * MIB, 3)];
    const atEnd = await uploadParts(local.s3, BUCKET, 'parts/not-listed-at-end.bin', parts);
    const between = await uploadParts(local.s3, BUCKET, 'parts/not-listed-between.bin', parts);

    // Act
    await completeUpload(local.s3, BUCKET, atEnd, listed(atEnd.etags, [1, 2]));
    await completeUpload(local.s3, BUCKET, between, listed(between.etags, [1, 3]));

    // Assess
    expect((await readObject(local.s3, BUCKET, atEnd.key)).equals(Buffer.concat([parts[0] ?? Buffer.alloc(0), parts[1] ?? Buffer.alloc(0)]))).toBe(true);
    expect((await readObject(local.s3, BUCKET, between.key)).equals(Buffer.concat([parts[0] ?? Buffer.alloc(0), parts[2] ?? Buffer.alloc(0)]))).toBe(true);
  });

  test('builds parts of uneven sizes in the order listed', async () => {
    // Prepare: the first part fixes 6 MiB as the parts' place; the second is shorter, the third longer.
    const key = 'parts/uneven.bin';
    const parts = [patternedBytes(6 * MIB, 1), patternedBytes(5 * MIB + 8, 2), patternedBytes(7 * MIB, 3), patternedBytes(100, 4)];
    const upload = await uploadParts(local.s3, BUCKET, key, parts);

    // Act
    await completeUpload(local.s3, BUCKET, upload, listed(upload.etags, [1, 2, 3, 4]));

    // Assess
    expect((await readObject(local.s3, BUCKET, key)).equals(Buffer.concat(parts))).toBe(true);
  });

  test('keeps a part as it was when its upload again breaks off', async () => {
    // Prepare
    const key = 'parts/broken-again.bin';
    const parts = [patternedBytes(5 * MIB, 1), patternedBytes(5 * MIB, 2)];
    const upload = await uploadParts(local.s3, BUCKET, key, parts);
    const uploadDirectory = join(local.directory, BUCKET, '._S3rver_uploads', upload.uploadId);

    // Act: a MiB of the 5 announced, and the connection is gone once the store is writing them.
    const request = httpRequest(`${local.store.endpoint}/${BUCKET}/${key}?partNumber=2&uploadId=${upload.uploadId}`, { method: 'PUT', headers: { 'content-length': String(5 * MIB) } });
    const answered = new Promise<unknown>((resolve) => request.on('error', resolve).on('response', resolve));
    request.write(patternedBytes(MIB, 7));
    await until(async () => (await readdir(uploadDirectory)).some((name) => name.includes('.incoming-')));
    request.destroy();
    await answered;
    await completeUpload(local.s3, BUCKET, upload, listed(upload.etags, [1, 2]));

    // Assess
    expect((await readObject(local.s3, BUCKET, key)).equals(Buffer.concat(parts))).toBe(true);
  });

  test('refuses a part number outside 1 to 10000 (InvalidArgument) and stores nothing for it', async () => {
    // Prepare
    const upload = await createUpload(local.s3, BUCKET, 'parts/part-number.bin');

    // Act
    const refused = await uploadPart(local.s3, BUCKET, upload, 10_001, patternedBytes(1000)).catch((error: unknown) => error);

    // Assess
    expect(refused).toMatchObject({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
    expect(await readdir(join(local.directory, BUCKET, '._S3rver_uploads', upload.uploadId))).toEqual(expect.not.arrayContaining([expect.stringMatching(/^10001/)]));
    await local.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: upload.key, UploadId: upload.uploadId }));
  });
});
