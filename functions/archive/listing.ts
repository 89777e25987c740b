import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { MANIFEST_SUFFIX, manifestSchema, providerRecordSchema, type Manifest, type ProviderRecord } from './manifest';

export interface ArchivedCopy {
  readonly manifestKey: string;
  readonly manifest: Manifest;
  /** The object the manifest describes is present with the size the manifest records. */
  readonly objectMatchesManifest: boolean;
}

export interface ArchiveListing {
  /** Copies with a manifest, newest first by vendor creation time. */
  readonly copies: readonly ArchivedCopy[];
  /** Catalogue records of backups the vendor holds (`"storage": "provider"`), newest first. Never archived copies. */
  readonly providerRecords: readonly { readonly manifestKey: string; readonly record: ProviderRecord }[];
  /** Objects without a manifest: not backups (an interrupted copy, or something else). */
  readonly withoutManifest: readonly string[];
  /** Manifests that could not be read or do not have the manifest's shape. */
  readonly unreadableManifests: readonly string[];
}

async function listAllKeys(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key) sizes.set(object.Key, object.Size ?? 0);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return sizes;
}

/** Orders by (time, time, key), each descending; the times are ISO strings compared as instants. */
function newestFirst([aTime, aThen, aKey]: readonly [string, string, string], [bTime, bThen, bKey]: readonly [string, string, string]): number {
  return Date.parse(bTime) - Date.parse(aTime) || Date.parse(bThen) - Date.parse(aThen) || (bKey < aKey ? -1 : bKey > aKey ? 1 : 0);
}

/** Every archived copy of one target, read through the manifests next to the objects. */
export async function listArchivedCopies(s3: S3Client, bucket: string, prefix: string, target: string): Promise<ArchiveListing> {
  const sizes = await listAllKeys(s3, bucket, `${prefix}${target}/`);
  // Audit reports (netbox-proxbox) live in <prefix><target>/audit/ and drill reports in
  // <prefix><target>/drills/: documents, not backups.
  const reportFolders = [`${prefix}${target}/audit/`, `${prefix}${target}/drills/`];
  for (const key of [...sizes.keys()]) if (reportFolders.some((folder) => key.startsWith(folder))) sizes.delete(key);
  const copies: ArchivedCopy[] = [];
  const providerRecords: { manifestKey: string; record: ProviderRecord }[] = [];
  const unreadableManifests: string[] = [];
  const described = new Set<string>();
  for (const key of sizes.keys()) {
    if (!key.endsWith(MANIFEST_SUFFIX)) continue;
    try {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const document: unknown = JSON.parse((await answer.Body?.transformToString('utf8')) ?? '');
      const record = providerRecordSchema.safeParse(document);
      if (record.success) {
        providerRecords.push({ manifestKey: key, record: record.data });
        continue;
      }
      const parsed = manifestSchema.safeParse(document);
      // A manifest describes the object beside it and nothing else: one naming a key
      // elsewhere (a folder copied under another target's name) must never lead a prune
      // to delete, or a verify to read, that other object.
      if (!parsed.success || parsed.data.objectKey !== key.slice(0, -MANIFEST_SUFFIX.length)) {
        unreadableManifests.push(key);
        continue;
      }
      described.add(parsed.data.objectKey);
      copies.push({ manifestKey: key, manifest: parsed.data, objectMatchesManifest: sizes.get(parsed.data.objectKey) === parsed.data.sizeBytes });
    } catch {
      unreadableManifests.push(key);
    }
  }
  const withoutManifest = [...sizes.keys()].filter((key) => !key.endsWith(MANIFEST_SUFFIX) && !described.has(key));
  // Newest first. Vendor times are often whole seconds (an appliance's backup_time), so two
  // backups can share one: the one archived later is the newer, and the key settles the rest,
  // so "newest" never depends on the order the store lists keys in.
  copies.sort((a, b) => newestFirst([a.manifest.createdAt, a.manifest.copiedAt, a.manifest.objectKey], [b.manifest.createdAt, b.manifest.copiedAt, b.manifest.objectKey]));
  providerRecords.sort((a, b) => newestFirst([a.record.createdAt, a.record.recordedAt, a.manifestKey], [b.record.createdAt, b.record.recordedAt, b.manifestKey]));
  return { copies, providerRecords, withoutManifest, unreadableManifests };
}
