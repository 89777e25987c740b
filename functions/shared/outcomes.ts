// The Error names a lifecycle's own Fail states give an execution. No function throws
// them (functions throw the classes of errors.ts); the state machine decides them, so
// they are listed here, each once, and test/state-machines/asl-policy.test.ts refuses
// a Fail state whose Error is neither an error class nor one of these.

/** Each lifecycle outcome name and what it means. */
export const LIFECYCLE_OUTCOMES = {
  BackupTimedOut: "the appliance did not complete the backup within the target's poll.timeoutMinutes",
  PruneFailed: 'the backup is archived and verified; only deleting older offsite-made backups from the appliance failed',
  ArchivePruneFailed: 'the backup is archived and verified; only removing old copies from the archive by retention failed (tried again next time)',
  BackupRequestFailed: 'NetBox Cloud reported the backup request as failed',
  BackupRequestTimedOut: "the backup request did not complete within the target's poll.timeoutMinutes",
  RetrievalFailed: 'NetBox Cloud reported the retrieval as failed; no download link was produced',
  RetrievalTimedOut: "the retrieval did not complete within the target's poll.timeoutMinutes",
  RestoreNotConfirmed: '"confirm" did not repeat what the restore overwrites; nothing was changed',
  UploadTimedOut: "the archived copy uploaded to the appliance did not become completed within the target's poll.timeoutMinutes; nothing was restored",
  RestoreJobFailed: 'NetBox Cloud reported the restore job as failed',
  RestoreTimedOut: 'the restore did not report its outcome within its time budget; the target may be mid-restore',
} as const satisfies Record<string, string>;

export type LifecycleOutcome = keyof typeof LIFECYCLE_OUTCOMES;
