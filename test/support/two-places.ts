// Two local stores standing for an archive's primary and its secondary, and copies planted
// in them as the copier and CopyToSecondary leave them (docs/design.md, "The archive"): the
// secondary holds the same layout under its own prefix, its manifest is the primary's with
// `objectKey` swapped and `copiedFrom` added, written after the object.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { archiveKeyFor, manifestKeyFor, type Manifest } from '../../functions/archive/manifest';
import { keyInPlace, type ArchivePlace } from '../../functions/archive/places';
import { localS3Client } from './harness';
import { putArchivedCopy } from './archived-copy';
import { copyToSecondaryForTest } from './secondary-copy';

export const PRIMARY = { bucket: 'archive-primary', prefix: 'backups/' } as const;
export const SECONDARY = { bucket: 'archive-secondary', prefix: 'mirror/' } as const;
/** The environment variable holding the secondary's access key (archive.secondary.credentials.env). */
export const SECONDARY_KEY_ENV = 'OFFSITE_TEST_SECONDARY_KEY';

export interface TwoPlaces {
  readonly primary: LocalS3;
  readonly secondary: LocalS3;
  readonly primaryS3: S3Client;
  readonly secondaryS3: S3Client;
  /** The places as the readers take them. */
  readonly places: readonly [ArchivePlace, ArchivePlace];
  /** `archive` of a configuration naming both stores. */
  readonly archive: Record<string, unknown>;
  /** What a process needs to reach both (the secondary through its own access key). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTwoPlaces(directory: string): Promise<TwoPlaces> {
  const primary = await startLocalS3({ directory: join(directory, 'primary'), buckets: [PRIMARY.bucket] });
  const secondary = await startLocalS3({ directory: join(directory, 'secondary'), buckets: [SECONDARY.bucket] });
  const primaryS3 = localS3Client(primary);
  const secondaryS3 = localS3Client(secondary);
  const place = (name: 'primary' | 'secondary', s3: S3Client, where: { bucket: string; prefix: string }): ArchivePlace => ({
    name,
    s3,
    ...where,
    objectLock: false,
    kmsKeyArn: undefined,
    url: `s3://${where.bucket}/${where.prefix}`,
  });
  return {
    primary,
    secondary,
    primaryS3,
    secondaryS3,
    places: [place('primary', primaryS3, PRIMARY), place('secondary', secondaryS3, SECONDARY)],
    archive: {
      ...PRIMARY,
      region: primary.region,
      endpoint: primary.endpoint,
      forcePathStyle: true,
      secondary: { ...SECONDARY, region: secondary.region, endpoint: secondary.endpoint, forcePathStyle: true, credentials: { env: SECONDARY_KEY_ENV } },
    },
    env: {
      AWS_ACCESS_KEY_ID: primary.accessKeyId,
      AWS_SECRET_ACCESS_KEY: primary.secretAccessKey,
      AWS_REGION: primary.region,
      [SECONDARY_KEY_ENV]: JSON.stringify({ accessKeyId: secondary.accessKeyId, secretAccessKey: secondary.secretAccessKey }),
    },
    async stop() {
      primaryS3.destroy();
      secondaryS3.destroy();
      await primary.stop();
      await secondary.stop();
    },
  };
}

export interface PlantedCopy {
  readonly primaryKey: string;
  readonly secondaryKey: string;
  readonly manifest: Manifest;
}

/**
 * A copy in the primary, and (unless `secondary` is 'none') in the secondary: the same
 * bytes, or (`'other-bytes'`) a secondary copy whose manifest and object are of other bytes.
 */
export async function plantCopy(
  stores: TwoPlaces,
  target: string,
  createdAt: Date,
  bytes: Buffer,
  options: { secondary?: 'same' | 'none' | 'other-bytes'; copiedAt?: Date } = {},
): Promise<PlantedCopy> {
  const sourceBackupId = `b-${createdAt.getTime()}`;
  const primaryKey = archiveKeyFor(PRIMARY.prefix, target, createdAt.toISOString(), sourceBackupId, '.backup');
  const secondaryKey = keyInPlace(primaryKey, PRIMARY, SECONDARY);
  const copiedAt = (options.copiedAt ?? createdAt).toISOString();
  const manifest = await putArchivedCopy(stores.primaryS3, PRIMARY.bucket, { target, objectKey: primaryKey, sourceBackupId, createdAt: createdAt.toISOString(), copiedAt, bytes });
  const mode = options.secondary ?? 'same';
  if (mode === 'same') {
    await copyToSecondaryForTest({ s3: stores.primaryS3, ...PRIMARY }, { s3: stores.secondaryS3, ...SECONDARY }, primaryKey, new Date(copiedAt));
  } else if (mode === 'other-bytes') {
    const held = Buffer.concat([bytes, Buffer.from('other')]);
    const secondaryManifest = {
      ...manifest,
      objectKey: secondaryKey,
      sizeBytes: held.length,
      sha256: createHash('sha256').update(held).digest('hex'),
      copiedFrom: { bucket: PRIMARY.bucket, objectKey: primaryKey },
    };
    await stores.secondaryS3.send(new PutObjectCommand({ Bucket: SECONDARY.bucket, Key: secondaryKey, Body: held }));
    await stores.secondaryS3.send(new PutObjectCommand({ Bucket: SECONDARY.bucket, Key: manifestKeyFor(secondaryKey), Body: JSON.stringify(secondaryManifest) }));
  }
  return { primaryKey, secondaryKey, manifest };
}
