// A second copy written the way the design's data model has it (docs/archive.md): the
// same layout under the secondary's prefix, the object first, then the primary's manifest
// with `objectKey` swapped, `copiedAt` and `copiedFrom`. Tests of prune, protect and the
// restore's fallback use it so they do not depend on the copying step.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { localS3Client, startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
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

/** A second local store as the archive's secondary, named in a configuration the handlers load instead of the harness's own. */
export interface SecondaryStore {
  readonly place: PlaceAt;
  readonly store: LocalS3;
  stop(): Promise<void>;
}

const SECONDARY_KEY_ENV = 'OFFSITE_TEST_SECONDARY_KEY';

/**
 * Starts a local store as `archive.secondary` beside a harness's primary: writes the
 * harness's configuration with the secondary added to a file of its own and points
 * OFFSITE_CONFIG at it (the runtime caches a configuration by path), with the store's
 * key in an environment variable as a secondary's credentials are given.
 */
export async function startSecondaryStore(configPath: string, bucket: string, prefix: string): Promise<SecondaryStore> {
  const directory = await mkdtemp(join(tmpdir(), 'offsite-secondary-'));
  const store = await startLocalS3({ directory, buckets: [bucket] });
  const config = JSON.parse(await readFile(configPath, 'utf8')) as { archive: Record<string, unknown> };
  config.archive.secondary = { bucket, prefix, region: store.region, endpoint: store.endpoint, forcePathStyle: true, credentials: { env: SECONDARY_KEY_ENV } };
  const withSecondary = join(directory, 'offsite.config.json');
  await writeFile(withSecondary, JSON.stringify(config));
  process.env.OFFSITE_CONFIG = withSecondary;
  process.env[SECONDARY_KEY_ENV] = JSON.stringify({ accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey });
  return {
    place: { s3: localS3Client(store), bucket, prefix },
    store,
    async stop() {
      delete process.env[SECONDARY_KEY_ENV];
      await store.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
