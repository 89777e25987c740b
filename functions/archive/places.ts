// The places an archived copy is kept: the primary bucket (the stack's own) and, when
// `archive.secondary` is configured, a second bucket somewhere else. Each place holds the
// same layout under its own prefix — `<prefix><target>/<time>_<id><ext>` with its
// manifest beside it, and its own verification records under `<prefix>_offsite/` — so
// listing, verify, status and prune run the same code once per place.
import type { ArchiveConfig, OffsiteConfig, SecondaryArchiveConfig } from '../config/schema';
import type { S3Client } from '@aws-sdk/client-s3';
import { archiveClient, type StoreAccessKey } from '../runtime/archive-client';
import { readSecretString } from '../runtime/credentials';
import { CredentialsUnavailable } from '../shared/errors';

export type PlaceName = 'primary' | 'secondary';

export const PLACE_NAMES: readonly PlaceName[] = ['primary', 'secondary'];

export interface ArchivePlace {
  readonly name: PlaceName;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** The bucket has S3 Object Lock: every write carries a checksum, a locked copy is reported, never deleted. */
  readonly objectLock: boolean;
  /** The KMS key objects are written with (SSE-KMS, bucket keys on); undefined: the bucket's default encryption. */
  readonly kmsKeyArn: string | undefined;
  /** `s3://bucket/prefix`, for messages. */
  readonly url: string;
}

/** The primary's KMS key as the functions know it: an ARN, or the stack-created key's ARN from the environment. */
export const ARCHIVE_KMS_KEY_ENV = 'OFFSITE_ARCHIVE_KMS_KEY_ARN';

function primaryKmsKeyArn(archive: ArchiveConfig, env: NodeJS.ProcessEnv): string | undefined {
  if (archive.kms === undefined) return undefined;
  if (archive.kms !== 'create') return archive.kms;
  // The stack passes the key it created; a local run against a store without KMS leaves it
  // unset, and the bucket's default encryption applies.
  return env[ARCHIVE_KMS_KEY_ENV] || undefined;
}

export function primaryPlace(config: Pick<OffsiteConfig, 'archive'>, env: NodeJS.ProcessEnv = process.env): ArchivePlace {
  const { archive } = config;
  return {
    name: 'primary',
    s3: archiveClient(archive),
    bucket: archive.bucket,
    prefix: archive.prefix,
    objectLock: archive.objectLock !== undefined,
    kmsKeyArn: primaryKmsKeyArn(archive, env),
    url: `s3://${archive.bucket}/${archive.prefix}`,
  };
}

/** Reads `{"accessKeyId", "secretAccessKey"}` from the secondary's secret or environment variable. */
export async function secondaryAccessKey(secondary: SecondaryArchiveConfig, env: NodeJS.ProcessEnv = process.env): Promise<StoreAccessKey | undefined> {
  const ref = secondary.credentials;
  if (ref === undefined) return undefined;
  const source = 'env' in ref ? `environment variable ${ref.env} (archive.secondary.credentials.env)` : `secret ${ref.secret} (archive.secondary.credentials.secret)`;
  const text = 'env' in ref ? env[ref.env] : await readSecretString(ref.secret, 'archive.secondary.credentials.secret', 'archive.secondary');
  if (!text) throw new CredentialsUnavailable(`archive.secondary: ${source} is not set.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CredentialsUnavailable(`archive.secondary: ${source} is not JSON; expected {"accessKeyId": "…", "secretAccessKey": "…"}.`);
  }
  const { accessKeyId, secretAccessKey } = (parsed ?? {}) as { accessKeyId?: unknown; secretAccessKey?: unknown };
  if (typeof accessKeyId !== 'string' || accessKeyId === '' || typeof secretAccessKey !== 'string' || secretAccessKey === '') {
    throw new CredentialsUnavailable(`archive.secondary: ${source} lacks a string "accessKeyId" or "secretAccessKey"; expected {"accessKeyId": "…", "secretAccessKey": "…"}.`);
  }
  return { accessKeyId, secretAccessKey };
}

/** The secondary, when one is configured (its credentials resolved). */
export async function secondaryPlace(config: Pick<OffsiteConfig, 'archive'>, env: NodeJS.ProcessEnv = process.env): Promise<ArchivePlace | undefined> {
  const secondary = config.archive.secondary;
  if (!secondary) return undefined;
  return {
    name: 'secondary',
    s3: archiveClient(secondary, await secondaryAccessKey(secondary, env)),
    bucket: secondary.bucket,
    prefix: secondary.prefix,
    objectLock: secondary.objectLock !== undefined,
    kmsKeyArn: secondary.kmsKeyArn,
    url: `s3://${secondary.bucket}/${secondary.prefix}`,
  };
}

/** The primary, then the secondary when configured. */
export async function archivePlaces(config: Pick<OffsiteConfig, 'archive'>, env: NodeJS.ProcessEnv = process.env): Promise<ArchivePlace[]> {
  const secondary = await secondaryPlace(config, env);
  return secondary ? [primaryPlace(config, env), secondary] : [primaryPlace(config, env)];
}

/**
 * The key a copy has in another place: the same path under that place's prefix. Every key
 * offsite writes starts with its place's prefix (archiveKeyFor), so this is a swap.
 */
export function keyInPlace(objectKey: string, from: Pick<ArchivePlace, 'prefix'>, to: Pick<ArchivePlace, 'prefix'>): string {
  if (!objectKey.startsWith(from.prefix)) throw new Error(`object key ${objectKey} is not under the prefix "${from.prefix}"`);
  return `${to.prefix}${objectKey.slice(from.prefix.length)}`;
}

/** The SSE-KMS fields of a PutObject or CreateMultipartUpload; empty: the bucket's default encryption. */
export interface WriteEncryption {
  readonly ServerSideEncryption?: 'aws:kms';
  readonly SSEKMSKeyId?: string;
  readonly BucketKeyEnabled?: boolean;
}

/** What a write into this place sends to have it encrypted with the place's key. */
export function encryptionParams(place: { readonly kmsKeyArn?: string | undefined }): WriteEncryption {
  return place.kmsKeyArn ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: place.kmsKeyArn, BucketKeyEnabled: true } : {};
}
