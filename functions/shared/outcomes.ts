// The Error names a lifecycle's own Fail states give an execution. No function throws
// them (functions throw the classes of errors.ts); the state machine decides them, so
// they are listed here, each once, and test/state-machines/asl-policy.test.ts refuses
// a Fail state whose Error is neither an error class nor one of these.

/** Each outcome name more than one kind uses, and what it means (a kind's own are in its folder's outcomes.ts). */
export const LIFECYCLE_OUTCOMES = {
  BackupTimedOut: "the vendor did not complete the backup within the target's poll.timeoutMinutes",
  PruneFailed: 'the backup is archived and verified; only deleting older offsite-made backups at the vendor failed',
  ArchivePruneFailed: 'the backup is archived and verified; only removing old copies from the archive by retention failed (tried again next time)',
  SecondaryCopyFailed: 'the backup is archived and verified in the primary; only its copy to the secondary failed (the scheduled catch-up copies it)',
  RestoreNotConfirmed: '"confirm" did not repeat what the restore overwrites; nothing was changed',
  RestoreTimedOut: 'the restore did not report its outcome within its time budget; the target may be mid-restore',
} as const satisfies Record<string, string>;

export type SharedOutcomeName = keyof typeof LIFECYCLE_OUTCOMES;
