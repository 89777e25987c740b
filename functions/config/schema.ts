import { z } from 'zod';

const targetName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'expected lower-case letters, digits and dashes (at most 48), starting with a letter or digit');

const credentialsRef = z.union(
  [
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }).strict(),
    z.object({ secret: z.string().min(1, 'expected a Secrets Manager secret name or ARN') }).strict(),
  ],
  { error: 'expected { "env": "VARIABLE_NAME" } for local runs or { "secret": "name-or-arn" } for Secrets Manager' },
);

// EventBridge Scheduler expressions; the time zone comes from the top-level `timezone`.
const scheduleExpression = z
  .string()
  .regex(/^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|at\(.+\))$/, 'expected an EventBridge Scheduler expression such as "cron(0 2 * * ? *)" or "rate(1 day)"');

const pollPolicy = z
  .object({
    initialSeconds: z.number().int().min(1).max(3600).default(15),
    maxSeconds: z.number().int().min(1).max(3600).default(300),
    timeoutMinutes: z.number().int().min(1).max(12 * 60).default(180),
  })
  .strict()
  .refine((poll) => poll.maxSeconds >= poll.initialSeconds, { message: 'maxSeconds must be at least initialSeconds', path: ['maxSeconds'] });

const retentionPolicy = z
  .object({
    keepLast: z.number().int().min(0).optional(),
    keepHourly: z.number().int().min(0).optional(),
    keepDaily: z.number().int().min(0).optional(),
    keepWeekly: z.number().int().min(0).optional(),
    keepMonthly: z.number().int().min(0).optional(),
    keepYearly: z.number().int().min(0).optional(),
  })
  .strict();

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}

// Plain http is only accepted for loopback (simulators, the sandbox): an API key must
// never cross a network in clear text.
const apiBaseUrl = z.url({ error: 'expected an absolute URL such as https://api.netboxlabs.com' }).refine(
  (value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
  },
  { message: 'expected https:// (plain http:// is accepted only for 127.0.0.1/localhost)' },
);

export const netboxCloudTargetSchema = z
  .object({
    name: targetName,
    kind: z.literal('netbox-cloud'),
    baseUrl: apiBaseUrl,
    orgId: z.string().min(1, 'expected the NetBox Cloud organization id'),
    // The document only shows ids like nb-aabbccddee01 and promises no form: any single token.
    instanceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a NetBox Cloud instance id such as nb-a12ff000777'),
    credentials: credentialsRef,
    schedule: scheduleExpression.optional(),
    poll: pollPolicy.default({ initialSeconds: 15, maxSeconds: 300, timeoutMinutes: 180 }),
    retention: retentionPolicy.optional(),
    requestTimeoutSeconds: z.number().int().min(1).max(300).default(30),
  })
  .strict();

export const targetSchema = z.discriminatedUnion('kind', [netboxCloudTargetSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? 'expected "kind" to be one of: netbox-cloud' : undefined),
});

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
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 lower-case letters, digits, dots, dashes)'),
        prefix: z
          .string()
          .regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'expected an empty string or a key prefix ending in "/", such as "backups/"')
          .default(''),
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1'),
        endpoint: z.url({ error: 'expected the URL of an S3-compatible endpoint, such as http://127.0.0.1:4568' }).optional(),
        forcePathStyle: z.boolean().optional(),
      })
      .strict(),
    timezone: z.string().refine(isTimeZone, { message: 'expected an IANA time zone such as Europe/Berlin' }).default('UTC'),
    alarmEmail: z.email({ error: 'expected an e-mail address' }).optional(),
    targets: z.array(targetSchema).min(1, 'expected at least one target'),
  })
  .strict()
  .superRefine((config, ctx) => {
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
export type NetboxCloudTarget = z.infer<typeof netboxCloudTargetSchema>;
export type CredentialsRef = z.infer<typeof credentialsRef>;
export type PollPolicy = z.infer<typeof pollPolicy>;
export type ArchiveConfig = OffsiteConfig['archive'];
