// The Error names this kind's own Fail states give an execution, by the rules of
// functions/shared/outcomes.ts. The definition lists them (`outcomes`), so the ASL policy
// test accepts them in this kind's state machines only.

export const NETBOX_CLOUD_OUTCOMES = {
  BackupRequestFailed: 'NetBox Cloud reported the backup request as failed',
  BackupRequestTimedOut: "the backup request did not complete within the target's poll.timeoutMinutes",
  RetrievalFailed: 'NetBox Cloud reported the retrieval as failed; no download link was produced',
  RetrievalTimedOut: "the retrieval did not complete within the target's poll.timeoutMinutes",
  RestoreJobFailed: 'NetBox Cloud reported the restore job as failed',
} as const satisfies Record<string, string>;
