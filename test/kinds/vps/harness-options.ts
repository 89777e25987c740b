import type { SandboxOptions } from '../../../bin/sandbox/sandbox';

/** The VPS provider simulator in the test harness. */
export const harnessOptions: SandboxOptions = {
  // A restore must stay visible ("restoring") well past the first check, however busy the machine: offsite counts a
  // restore done only after it has seen one running.
  vps: { backupDurationMs: 150, restoreDurationMs: 150, restoreVisibleReads: 1 },
};
