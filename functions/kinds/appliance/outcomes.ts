// The Error names this kind's own Fail states give an execution, by the rules of
// functions/shared/outcomes.ts. The definition lists them (`outcomes`), so the ASL policy
// test accepts them in this kind's state machines only.

export const APPLIANCE_OUTCOMES = {
  UploadTimedOut: "the archived copy uploaded to the appliance did not become completed within the target's poll.timeoutMinutes; nothing was restored",
} as const satisfies Record<string, string>;
