import type { SandboxOptions } from '../../../bin/sandbox/sandbox';

/** The NetBox Cloud simulator in the test harness: every vendor job takes a fraction of a second. */
export const harnessOptions: SandboxOptions = {
  netboxCloud: { backupRequestDurationMs: 150, retrievalDurationMs: 100, restoreDurationMs: 150, redeployDelayMs: 50 },
};
