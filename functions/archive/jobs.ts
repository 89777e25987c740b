// The archive's own functions and lifecycles: jobs over the copies already in the bucket
// (prune today; verify and freshness are added here too). They call no vendor, so they
// have no kind and hold no vendor secret; the catalog folds them into FUNCTIONS beside
// the kinds' functions, and a kind's ASL may call them (a backup ends with PruneArchive).
// Plain data, like a kind definition: the CDK app imports it without the AWS SDK.
import { API_CALL, COPY_MEMORY_MB, COPY_NODE_OPTIONS, STREAMING } from '../kinds/function-defaults';
import type { KindFunctionSpec, KindLifecycleSpec } from '../kinds/kind';

/**
 * Object-level S3 actions an archive job needs beyond its `archive` access, granted on the
 * archive's objects under the prefix only (least privilege: prune deletes but never writes).
 */
export type ArchiveObjectAction =
  | 's3:DeleteObject'
  | 's3:GetObjectTagging'
  | 's3:PutObjectTagging'
  | 's3:GetObjectRetention'
  | 's3:GetObjectLegalHold'
  | 's3:PutObjectLegalHold';

export interface ArchiveJobFunctionSpec extends KindFunctionSpec {
  readonly archiveActions: readonly ArchiveObjectAction[];
}

/** What an archive job's state machine is for (verify and freshness run on schedules of their own). */
export type ArchiveJobPurpose = 'verify' | 'freshness';

export interface ArchiveJobLifecycleSpec extends Omit<KindLifecycleSpec, 'purpose'> {
  readonly purpose: ArchiveJobPurpose;
}

const handler = (name: string): string => `functions/archive/handlers/${name}.ts`;

/**
 * The second copy's profile, the copier's (copyToArchiveFunction): a streamed copy,
 * CPU-bound on SHA-256, within the 15-minute ceiling; it reads the primary and writes the
 * secondary (its own object, its manifest, and the removal of an object left without one).
 */
const SECONDARY_COPIER = {
  ...API_CALL,
  ...STREAMING,
  memoryMb: COPY_MEMORY_MB,
  nodeOptions: COPY_NODE_OPTIONS,
  archive: 'read',
  secondary: 'read-write',
  network: 'internet',
  creates: false,
  archiveActions: [],
} as const;

export const ARCHIVE_JOBS: { readonly functions: readonly ArchiveJobFunctionSpec[]; readonly lifecycles: readonly ArchiveJobLifecycleSpec[] } = {
  functions: [
    {
      id: 'PruneArchive',
      entry: handler('prune-archive'),
      description: "Applies the target's retention to its archived copies (manifest removed first, then the object)",
      ...API_CALL,
      // Lists the target's copies and reads their manifests; one removal per copy, each a
      // couple of requests, so a large first prune fits comfortably in five minutes.
      archive: 'read',
      // The same in the secondary: its own listing and marks; the removals are archiveActions,
      // which apply to both places.
      secondary: 'read',
      timeoutSeconds: 300,
      network: 'internet',
      creates: false,
      // Tagging: the protected mark; retention and legal hold: Object Lock (a locked copy is
      // reported, not deleted); DeleteObject: the removal itself. No PutObject.
      archiveActions: ['s3:DeleteObject', 's3:GetObjectTagging', 's3:GetObjectRetention', 's3:GetObjectLegalHold'],
    },
    {
      id: 'VerifyArchive',
      entry: handler('verify-archive'),
      description: 'Re-reads the archived copies verified longest ago (SHA-256 and size against the manifest), up to the byte budget per run',
      ...API_CALL,
      // Streams copies through SHA-256 for most of the 15-minute ceiling; the verification
      // records are written under <prefix>_offsite/verification/ only (lib/archive-jobs.ts),
      // in each place.
      archive: 'read',
      secondary: 'read',
      timeoutSeconds: 900,
      memoryMb: 1024,
      network: 'internet',
      creates: false,
      archiveActions: [],
    },
    {
      id: 'CheckFreshness',
      entry: handler('check-freshness'),
      description: 'Counts the scheduled targets whose newest verified copy (in either place) is older than their schedule allows',
      ...API_CALL,
      archive: 'read',
      secondary: 'read',
      timeoutSeconds: 300,
      network: 'internet',
      creates: false,
      archiveActions: [],
    },
    {
      id: 'CopyToSecondary',
      entry: handler('copy-to-secondary'),
      description: 'Streams the copy just archived into the secondary archive (SHA-256 and size against the primary manifest), then writes its manifest; skipped without a secondary',
      ...SECONDARY_COPIER,
    },
    {
      id: 'CatchUpSecondary',
      entry: handler('catch-up-secondary'),
      description: 'Copies the archived copies the secondary lacks, newest first, up to the verify byte budget per run',
      ...SECONDARY_COPIER,
    },
  ],
  lifecycles: [],
};
