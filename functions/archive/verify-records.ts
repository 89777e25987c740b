// When each copy was last re-read and what that found. Kept in one small document per
// target, apart from the copies: verifying never rewrites a copy or its manifest (with
// Object Lock on, it could not), and a listing of the target's folder never sees it.
// `<prefix>_offsite/` cannot collide with a target's folder: target names start with a
// letter or digit.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { archiveWriter } from './archive-writer';

export type VerifyResult = 'ok' | 'differs' | 'missing';

const verificationSchema = z.object({
  verifiedAt: z.string(),
  result: z.enum(['ok', 'differs', 'missing']),
  /** The manifest's sha256 it was compared with: a record of another copy under the same key does not count. */
  expectedSha256: z.string(),
  actualSizeBytes: z.number().nullable(),
  actualSha256: z.string().nullable(),
});

export type Verification = z.infer<typeof verificationSchema>;

const documentSchema = z.object({
  formatVersion: z.literal(1),
  target: z.string(),
  /** By object key. */
  copies: z.record(z.string(), verificationSchema),
});

export type VerificationRecords = ReadonlyMap<string, Verification>;

export function verificationKeyFor(prefix: string, target: string): string {
  return `${prefix}_offsite/verification/${target}.json`;
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}

/** The target's records; none yet is an empty map. A record document that cannot be read counts as none (copies then count as verified when copied). */
export async function readVerifications(s3: S3Client, bucket: string, prefix: string, target: string): Promise<Map<string, Verification>> {
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: verificationKeyFor(prefix, target) }));
    const parsed = documentSchema.safeParse(JSON.parse((await answer.Body?.transformToString('utf8')) ?? ''));
    return new Map(parsed.success ? Object.entries(parsed.data.copies) : []);
  } catch (error) {
    if (isMissing(error) || error instanceof SyntaxError) return new Map();
    throw error;
  }
}

/**
 * Adds these results to the target's records and keeps only keys still in `present`
 * (a pruned copy's record goes with it). Read-modify-write: a verify running at the
 * same moment for the same target may lose its timestamps, never a copy.
 */
export async function recordVerifications(
  s3: S3Client,
  bucket: string,
  prefix: string,
  target: string,
  results: ReadonlyMap<string, Verification>,
  present: ReadonlySet<string>,
  encryption?: { readonly kmsKeyArn?: string | undefined },
): Promise<void> {
  const records = await readVerifications(s3, bucket, prefix, target);
  for (const [key, verification] of results) records.set(key, verification);
  const copies = Object.fromEntries([...records].filter(([key]) => present.has(key)).sort(([a], [b]) => a.localeCompare(b)));
  await archiveWriter(s3, bucket, encryption).putJson(verificationKeyFor(prefix, target), { formatVersion: 1, target, copies });
}

/** A copy counts as verified unless its latest re-read (of this manifest's bytes) found it bad. */
export function countsAsVerified(objectKey: string, sha256: string, records: VerificationRecords): boolean {
  const record = records.get(objectKey);
  return !record || record.expectedSha256 !== sha256 || record.result === 'ok';
}

/** When the copy was last known good: its latest ok re-read, or when it was copied (verified in the stream). */
export function lastVerifiedAt(objectKey: string, sha256: string, copiedAt: string, records: VerificationRecords): string {
  const record = records.get(objectKey);
  return record && record.expectedSha256 === sha256 ? record.verifiedAt : copiedAt;
}
