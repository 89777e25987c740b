import { z } from 'zod';

export const MANIFEST_SUFFIX = '.manifest.json';

export const manifestSchema = z.looseObject({
  formatVersion: z.literal(1),
  target: z.string(),
  kind: z.string(),
  sourceBackupId: z.string(),
  objectKey: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  /** Hex SHA-256 of the bytes stored in objectKey, computed while they streamed in. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** What the vendor reported, verbatim; null when it reported nothing. */
  sourceChecksum: z.string().nullable(),
  sourceChecksumAlgorithm: z.string().nullable(),
  /** True when the vendor checksum's algorithm was recognised and it matched. */
  sourceChecksumVerified: z.boolean(),
  sourceSizeBytes: z.number().nullable(),
  /** When the vendor made the backup. */
  createdAt: z.string(),
  /** When the copy was verified and completed. */
  copiedAt: z.string(),
  contentType: z.string(),
  /** Vendor metadata worth keeping next to the bytes (instance, version, ...). */
  source: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

export type Manifest = z.infer<typeof manifestSchema>;

/**
 * A catalogue record of a backup the vendor holds and offsite cannot download (a VPS
 * provider's backup): a manifest with `"storage": "provider"` and no object next to it.
 * It is kept under the same key scheme so `status` and `prune` see it, but it is never
 * an archived copy: no bytes, no sha256.
 */
export const providerRecordSchema = z.looseObject({
  formatVersion: z.literal(1),
  storage: z.literal('provider'),
  target: z.string(),
  kind: z.string(),
  /** The provider's id, as a string. */
  sourceBackupId: z.string(),
  objectKey: z.null(),
  sha256: z.null(),
  /** `manual` / `automatic`, as the provider says. */
  sourceType: z.string(),
  sourceSizeBytes: z.number().nullable(),
  /** The provider's `created_at`. */
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  /** When offsite wrote the record. */
  recordedAt: z.string(),
  source: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

export type ProviderRecord = z.infer<typeof providerRecordSchema>;

export function manifestKeyFor(objectKey: string): string {
  return `${objectKey}${MANIFEST_SUFFIX}`;
}

function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '-');
}

/**
 * A key archiveKeyFor could have made for this target: directly in the target's folder,
 * named `<time>_<id><extension>`. Only such keys can be an interrupted copy of offsite's;
 * everything else under the folder (audit and drill reports, anything someone put there)
 * is never a prune leftover.
 */
export function isArchiveObjectKey(prefix: string, target: string, key: string): boolean {
  const folder = `${prefix}${target}/`;
  if (!key.startsWith(folder)) return false;
  return /^(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z|unknown-time)_[A-Za-z0-9._-]+$/.test(key.slice(folder.length));
}

/** `<prefix><target>/<vendor time, UTC>_<source backup id><extension>`: sorts by time, unique per source backup. */
export function archiveKeyFor(prefix: string, target: string, createdAt: string, sourceBackupId: string, extension: string): string {
  const date = new Date(createdAt);
  const stamp = Number.isNaN(date.getTime()) ? 'unknown-time' : date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return `${prefix}${target}/${stamp}_${safeSegment(sourceBackupId)}${extension}`;
}
