// offsite's catalogue records of the backups it made at the VPS provider: one manifest
// each, `"storage": "provider"`, beside where an archived copy's manifest would be
// (docs/design.md, "The archive"). No bytes are held: the provider's API offers no download.
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { archiveWriter } from '../../archive/archive-writer';
import { listArchivedCopies } from '../../archive/listing';
import { archiveKeyFor, manifestKeyFor, type ProviderRecord } from '../../archive/manifest';
import type { Clock } from '../../shared/clock';
import type { VpsTarget } from './config';
import type { BackupFacts } from './lifecycle';

export const MIB = 1024 * 1024;

/** Said wherever these backups are shown. */
export const HELD_BY_PROVIDER = 'held by the provider, not off-site';

export interface ArchiveLocation {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** The archive's own KMS key (archive.kms), the records are written with. */
  readonly kmsKeyArn?: string | undefined;
}

export interface RecordedBackup {
  readonly storage: 'provider';
  readonly manifestKey: string;
  readonly sourceBackupId: string;
  readonly sourceType: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly sizeBytes: number | null;
  readonly heldBy: string;
}

export function recordFor(target: VpsTarget, facts: BackupFacts, clock: Clock): ProviderRecord {
  return {
    formatVersion: 1,
    storage: 'provider',
    target: target.name,
    kind: 'vps',
    sourceBackupId: String(facts.backupId),
    objectKey: null,
    sha256: null,
    sourceType: facts.backupType,
    sourceSizeBytes: facts.sizeMb === null ? null : Math.round(facts.sizeMb * MIB),
    createdAt: facts.createdAt,
    expiresAt: facts.expiresAt,
    recordedAt: clock().toISOString(),
    heldBy: HELD_BY_PROVIDER,
    source: {
      provider: new URL(target.baseUrl).origin,
      serverId: target.serverId,
      serverName: facts.serverName,
      description: facts.description,
      sizeMb: facts.sizeMb,
    },
  };
}

export function recordKeyFor(prefix: string, target: string, facts: Pick<BackupFacts, 'createdAt' | 'backupId'>): string {
  return manifestKeyFor(archiveKeyFor(prefix, target, facts.createdAt, String(facts.backupId), ''));
}

/** Writes the record (Content-MD5 set, as a bucket with Object Lock requires). */
export async function writeRecord(archive: ArchiveLocation, target: VpsTarget, facts: BackupFacts, clock: Clock): Promise<RecordedBackup> {
  const record = recordFor(target, facts, clock);
  const manifestKey = recordKeyFor(archive.prefix, target.name, facts);
  const body = `${JSON.stringify(record, null, 2)}\n`;
  await archiveWriter(archive.s3, archive.bucket, archive).putDocument(manifestKey, body, 'application/json');
  return {
    storage: 'provider',
    manifestKey,
    sourceBackupId: record.sourceBackupId,
    sourceType: record.sourceType,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    sizeBytes: record.sourceSizeBytes,
    heldBy: HELD_BY_PROVIDER,
  };
}

/** offsite's records of the target, newest first. */
export async function listRecords(archive: ArchiveLocation, target: string): Promise<readonly { readonly manifestKey: string; readonly record: ProviderRecord }[]> {
  return (await listArchivedCopies(archive.s3, archive.bucket, archive.prefix, target)).providerRecords;
}

export async function deleteRecord(archive: ArchiveLocation, manifestKey: string): Promise<void> {
  await archive.s3.send(new DeleteObjectCommand({ Bucket: archive.bucket, Key: manifestKey }));
}
