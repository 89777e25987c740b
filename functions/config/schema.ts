import { z } from 'zod';
import { TARGET_KINDS, targetSchemas } from '../kinds/registry';
import { credentialsRef, scheduleExpression } from './common';
import { fleetSettings } from './fleet';

export { isLoopback, type CaBundleRef, type CredentialsRef, type PollPolicy } from './common';

export const targetSchema = z.discriminatedUnion('kind', targetSchemas, {
  error: (issue) => (issue.code === 'invalid_union' ? `expected "kind" to be one of: ${TARGET_KINDS.join(', ')}` : undefined),
});

const awsId = (prefix: string, example: string) =>
  z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `expected an id such as ${example}`);

const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 lower-case letters, digits, dots, dashes)');
const keyPrefix = z
  .string()
  .regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'expected an empty string or a key prefix ending in "/", such as "backups/"')
  .default('');
const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1');
const storeEndpoint = z.url({ error: 'expected the URL of an S3-compatible endpoint, such as http://127.0.0.1:4568' });
const objectLockSettings = z
  .object({
    mode: z.enum(['GOVERNANCE', 'COMPLIANCE'], { error: 'expected "GOVERNANCE" or "COMPLIANCE"' }),
    days: z.number({ error: 'expected a number of days' }).int('expected whole days').min(1, 'expected at least 1 day').max(36500, 'expected at most 36500 days'),
  })
  .strict();
/** A KMS key named by ARN: a bare key id or alias would leave the region and account to guess. */
export const kmsKeyArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/[A-Za-z0-9-]+$/, 'expected a KMS key ARN such as arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');

/**
 * The archive's own key (SSE-KMS, bucket keys on): an existing key by ARN, or `"create"`
 * for a key the stack creates with yearly rotation and keeps when the stack is deleted.
 */
const archiveKms = z
  .string({ error: 'expected "create" or a KMS key ARN' })
  .refine((value) => value === 'create' || kmsKeyArn.safeParse(value).success, {
    message: 'expected "create" (a key the stack creates, with rotation) or a KMS key ARN such as arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  });

/**
 * The second place every archived copy is kept: another bucket, in another region or
 * account, or at another S3-compatible provider. offsite does not create it; it copies
 * each verified copy there, verifies it, and keeps retention and protection on both.
 */
/** Where a store is: what the primary archive and its secondary both name. */
const storeLocation = {
  bucket: bucketName,
  prefix: keyPrefix,
  region: awsRegion,
  endpoint: storeEndpoint.optional(),
  forcePathStyle: z.boolean().optional(),
};

const secondaryArchive = z
  .object({
    ...storeLocation,
    /**
     * An access key for the secondary, as JSON `{"accessKeyId": …, "secretAccessKey": …}`
     * in a secret (or, for local runs, an environment variable). Absent: the function's
     * own role (another account's bucket then grants it in its bucket policy).
     */
    credentials: credentialsRef.optional(),
    /** The secondary bucket has S3 Object Lock (it was created with it): every write carries a checksum, and a locked copy is never deleted. */
    objectLock: objectLockSettings.optional(),
    /** The secondary's own KMS key, when its bucket is encrypted with one (another account's key: its key policy must allow the functions' roles). */
    kmsKeyArn: kmsKeyArn.optional(),
  })
  .strict();

/** Where the functions that talk to appliances run: appliances sit on private networks. */
const networkPlacement = z
  .object({
    vpcId: awsId('vpc', 'vpc-0a1b2c3d4e5f60718'),
    subnetIds: z.array(awsId('subnet', 'subnet-0a1b2c3d4e5f60718')).min(1, 'expected at least one subnet id'),
    securityGroupIds: z.array(awsId('sg', 'sg-0a1b2c3d4e5f60718')).min(1, 'expected at least one security group id'),
  })
  .strict();

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const configSchema = z
  .object({
    archive: z
      .object({
        ...storeLocation,
        /**
         * Creates the bucket with S3 Object Lock and this default retention. It cannot be
         * turned off once the bucket exists; COMPLIANCE cannot be shortened by anyone.
         */
        objectLock: objectLockSettings.optional(),
        kms: archiveKms.optional(),
        secondary: secondaryArchive.optional(),
        /**
         * The scheduled re-read of archived copies: when it runs, and how much it reads per
         * run (the copies verified longest ago first, so runs take turns over the archive).
         */
        verify: z
          .object({
            schedule: scheduleExpression.default('rate(7 days)'),
            maxGiBPerRun: z
              .number({ error: 'expected a number of GiB' })
              .positive('expected a number of GiB above 0')
              .max(1024, 'expected at most 1024 GiB per run (one run has 15 minutes)')
              .default(50),
          })
          .strict()
          // Absent: weekly, 50 GiB per run (DEFAULT_VERIFY in functions/archive/freshness-names.ts).
          .optional(),
      })
      .strict(),
    /** The CloudFormation stack `cdk deploy` creates (bin/app.ts), whose outputs `--remote` reads; absent: DEFAULT_STACK_NAME. */
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'expected a CloudFormation stack name (letters, digits and dashes, at most 128, starting with a letter), such as Offsite')
      .optional(),
    /**
     * Where the deployed functions may read secrets: `<secretPrefix><kind>/*` for a kind's
     * functions, `<secretPrefix>drill/*` for the drill checks (lib/secret-grants.ts); absent:
     * DEFAULT_SECRET_PREFIX. Synth refuses a secret named elsewhere.
     */
    secretPrefix: z
      .string()
      .regex(/^([A-Za-z0-9_+=.@-]+\/)*$/, 'expected an empty string or a Secrets Manager name prefix ending in "/", such as "offsite/"')
      .optional(),
    timezone: z.string().refine(isTimeZone, { message: 'expected an IANA time zone such as Europe/Berlin' }).default('UTC'),
    alarmEmail: z.email({ error: 'expected an e-mail address' }).optional(),
    network: networkPlacement.optional(),
    /** How scheduled groups of targets run: targets at once per kind, start jitter (functions/config/fleet.ts). */
    fleet: fleetSettings.optional(),
    targets: z.array(targetSchema).min(1, 'expected at least one target'),
  })
  .strict()
  .superRefine((config, ctx) => {
    const { secondary } = config.archive;
    if (secondary && secondary.bucket === config.archive.bucket && (secondary.endpoint ?? '') === (config.archive.endpoint ?? '')) {
      ctx.addIssue({
        code: 'custom',
        message: `expected another bucket than the primary's ("${secondary.bucket}"): a second copy in the same bucket is not a second place`,
        path: ['archive', 'secondary', 'bucket'],
      });
    }
    const seen = new Set<string>();
    config.targets.forEach((target, index) => {
      if (seen.has(target.name)) {
        ctx.addIssue({ code: 'custom', message: `duplicate target name "${target.name}"`, path: ['targets', index, 'name'] });
      }
      seen.add(target.name);
    });
  });

export type OffsiteConfig = z.infer<typeof configSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type NetworkPlacement = z.infer<typeof networkPlacement>;
export type ArchiveConfig = OffsiteConfig['archive'];
export type SecondaryArchiveConfig = NonNullable<ArchiveConfig['secondary']>;

/** The stack name when the configuration names none (bin/app.ts deploys under it). */
export const DEFAULT_STACK_NAME = 'Offsite';

/** The secret name prefix when the configuration names none: a kind's secrets are offsite/<kind>/…. */
export const DEFAULT_SECRET_PREFIX = 'offsite/';
