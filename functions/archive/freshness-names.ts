// Names the stack and the job handlers share (plain constants: the CDK app imports them
// without the AWS SDK).

/** The environment variables the job handlers read their alarm's name from. */
export const FRESHNESS_ALARM_ENV = 'OFFSITE_FRESHNESS_ALARM_NAME';
export const VERIFY_ALARM_ENV = 'OFFSITE_VERIFY_ALARM_NAME';
export const SECONDARY_CATCH_UP_ALARM_ENV = 'OFFSITE_SECONDARY_CATCH_UP_ALARM_NAME';

/** How often the freshness check runs. */
export const FRESHNESS_SCHEDULE = 'rate(1 hour)';

/** The scheduled verify when `archive.verify` is absent: weekly, 50 GiB per run. */
export const DEFAULT_VERIFY = { schedule: 'rate(7 days)', maxGiBPerRun: 50 } as const;

export function verifySettings(archive: { readonly verify?: { readonly schedule: string; readonly maxGiBPerRun: number } | undefined }): { readonly schedule: string; readonly maxGiBPerRun: number } {
  return archive.verify ?? DEFAULT_VERIFY;
}
