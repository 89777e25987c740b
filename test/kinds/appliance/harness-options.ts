import type { SandboxOptions } from '../../../bin/sandbox/sandbox';

/** The appliance simulator in the test harness: short backups and reboots, small backup files. */
export const harnessOptions: SandboxOptions = {
  appliance: { backupDurationMs: 150, rebootWindowMs: 300, backupSizeBytes: 64 * 1024 },
};
