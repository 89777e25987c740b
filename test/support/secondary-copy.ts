// A second copy written the way the design's data model has it (docs/archive.md): the
// same layout under the secondary's prefix, the object first, then the primary's manifest
// with `objectKey` swapped, `copiedAt` and `copiedFrom`. Tests of prune, protect and the
// restore's fallback use it so they do not depend on the copying step.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { manifestKeyFor } from '../../functions/archive/manifest';
import { keyInPlace } from '../../functions/archive/places';

export interface PlaceAt {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly prefix: string;
}

async function bytesOf(place: PlaceAt, key: string): Promise<Buffer> {
  const answer = await place.s3.send(new GetObjectCommand({ Bucket: place.bucket, Key: key }));
  return Buffer.from(await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** Copies one archived copy (object, then manifest) from the primary into the secondary; returns its key there. */
export async function copyToSecondaryForTest(primary: PlaceAt, secondary: PlaceAt, objectKey: string, copiedAt = new Date()): Promise<string> {
  const key = keyInPlace(objectKey, primary, secondary);
  const manifest = JSON.parse((await bytesOf(primary, manifestKeyFor(objectKey))).toString('utf8')) as Record<string, unknown>;
  await secondary.s3.send(new PutObjectCommand({ Bucket: secondary.bucket, Key: key, Body: await bytesOf(primary, objectKey) }));
  const copied = { ...manifest, objectKey: key, copiedAt: copiedAt.toISOString(), copiedFrom: { bucket: primary.bucket, objectKey } };
  await secondary.s3.send(new PutObjectCommand({ Bucket: secondary.bucket, Key: manifestKeyFor(key), Body: JSON.stringify(copied) }));
  return key;
}
