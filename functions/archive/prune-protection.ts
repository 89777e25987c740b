// The protected mark of an archived copy and, with Object Lock, its retention. The mark
// travels with the object: an object tag, or (archive.objectLock set) a legal hold, which
// S3 itself enforces. Retention only reads them; `offsite protect`/`unprotect` set them.
import {
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { archiveWriter } from './archive-writer';
import { manifestKeyFor } from './manifest';

/** The tag that protects a copy from retention (value `true`). */
export const PROTECTED_TAG = 'offsite:protected';

export interface CopyProtection {
  /** Tagged, or under a legal hold. */
  readonly protected: boolean;
  /** Object Lock retention of the object, where it has one (ISO 8601). */
  readonly retainUntil: string | null;
  /** What could not be read; a copy whose mark is unknown is treated as protected. */
  readonly unreadable?: string;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

// S3 answers GetObjectLegalHold/GetObjectRetention on an object that never had one with
// NoSuchObjectLockConfiguration (and some S3-compatible stores, which have no Object Lock
// at all, with NotImplemented or InvalidRequest). The S3 documentation does not list every
// answer, so any of these reads as "none"; anything else is an error the caller reports.
const NO_LOCK_ANSWERS = new Set(['NoSuchObjectLockConfiguration', 'ObjectLockConfigurationNotFoundError', 'NotImplemented', 'InvalidRequest', 'MethodNotAllowed']);

async function orNone<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (NO_LOCK_ANSWERS.has(errorName(error))) return undefined;
    throw error;
  }
}

/**
 * Reads one copy's mark. Both the tag and (with Object Lock) the legal hold count, so a
 * copy protected before Object Lock was configured stays protected after.
 */
export async function readProtection(s3: S3Client, bucket: string, objectKey: string, objectLock: boolean): Promise<CopyProtection> {
  try {
    const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: objectKey }));
    const tagged = (tagging.TagSet ?? []).some((tag) => tag.Key === PROTECTED_TAG && tag.Value === 'true');
    if (!objectLock) return { protected: tagged, retainUntil: null };
    const hold = await orNone(() => s3.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: objectKey })));
    const retention = await orNone(() => s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: objectKey })));
    const until = retention?.Retention?.RetainUntilDate;
    return { protected: tagged || hold?.LegalHold?.Status === 'ON', retainUntil: until ? new Date(until).toISOString() : null };
  } catch (error) {
    // The manifest says the copy exists but its object is gone: nothing there to protect.
    if (errorName(error) === 'NoSuchKey' || errorName(error) === 'NotFound') return { protected: false, retainUntil: null };
    return { protected: true, retainUntil: null, unreadable: `${errorName(error)}: ${error instanceof Error ? error.message : ''}`.trim() };
  }
}

/**
 * Sets or clears the mark on one copy. With Object Lock, a legal hold on the object AND
 * its manifest: a hold only protects the version it is on, and a copy without its
 * manifest is no backup. Without Object Lock, a tag on the object only: a tag protects
 * nothing by itself (retention reads it), so one mark in one place cannot disagree with a
 * second; other tags on the object are kept.
 */
export async function setProtection(s3: S3Client, bucket: string, objectKey: string, protect: boolean, objectLock: boolean): Promise<void> {
  const writer = archiveWriter(s3, bucket);
  if (objectLock) {
    for (const key of [objectKey, manifestKeyFor(objectKey)]) await writer.setLegalHold(key, protect);
  }
  const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: objectKey }));
  const others = (tagging.TagSet ?? []).filter((tag) => tag.Key !== PROTECTED_TAG);
  // With Object Lock the hold is the mark, but an earlier tag is cleared on unprotect too,
  // or the copy would stay protected through it.
  if (objectLock && protect) return;
  await writer.setTags(objectKey, protect ? [...others, { Key: PROTECTED_TAG, Value: 'true' }] : others);
}

/** The marks of many copies (by object key), read a few at a time. */
export async function readProtections(s3: S3Client, bucket: string, objectKeys: readonly string[], objectLock: boolean, concurrency = 16): Promise<Map<string, CopyProtection>> {
  const marks = new Map<string, CopyProtection>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objectKeys.length) {
      const key = objectKeys[next] as string;
      next += 1;
      marks.set(key, await readProtection(s3, bucket, key, objectLock));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, objectKeys.length) }, worker));
  return marks;
}
