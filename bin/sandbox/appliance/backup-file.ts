// Backup files as the appliance writes them: a gzip stream whose first decompressed line
// is the metadata JSON {"hostname","model","serial","sw_version","backup_time","id"},
// followed by about backupSizeBytes of deterministic keystream (keyed by the backup id)
// so the file does not compress away.
import { gunzipSync, gzipSync } from 'node:zlib';
import { deterministicBytes } from '../kit/bytes';
import type { SimulatedBackup } from './index';

/** What a backup file says about itself: the fields of the API's backup object that the appliance writes into it. */
export type BackupMetadata = Pick<SimulatedBackup, 'hostname' | 'model' | 'serial' | 'sw_version' | 'backup_time' | 'id'>;

function metadataLine(metadata: BackupMetadata): string {
  const { hostname, model, serial, sw_version, backup_time, id } = metadata;
  return JSON.stringify({ hostname, model, serial, sw_version, backup_time, id });
}

export function generateBackupFile(metadata: BackupMetadata, sizeBytes: number): Buffer {
  const header = Buffer.from(`${metadataLine(metadata)}\n`);
  const filler = deterministicBytes(`appliance-simulator:${metadata.id}`, Math.max(0, sizeBytes - header.length));
  return gzipSync(Buffer.concat([header, filler]));
}

/** The metadata of an uploaded file, or undefined when it is not a backup file. */
export function parseBackupFile(bytes: Buffer): BackupMetadata | undefined {
  let content: Buffer;
  try {
    content = gunzipSync(bytes);
  } catch {
    return undefined;
  }
  const newline = content.indexOf(0x0a);
  const line = (newline === -1 ? content : content.subarray(0, newline)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const fields = parsed as Record<string, unknown>;
  const { hostname, model, serial, sw_version, backup_time, id } = fields;
  if (typeof hostname !== 'string' || typeof model !== 'string' || typeof serial !== 'string' || typeof sw_version !== 'string' || typeof id !== 'string') return undefined;
  if (typeof backup_time !== 'number' || !Number.isSafeInteger(backup_time) || backup_time < 0) return undefined;
  return { hostname, model, serial, sw_version, backup_time, id };
}

