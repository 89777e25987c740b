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

export function isLoopback(hostname: string): boolean {
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
    /**
     * Lets presigned download links point at private addresses (RFC 1918, CGNAT, IPv6
     * unique-local). Absent means false; link-local and metadata addresses stay refused.
     */
    allowPrivateDownloadHosts: z.boolean({ error: 'expected true or false' }).optional(),
  })
  .strict();

// A PEM bundle is recognised by its armour; the TLS layer reports a malformed one by itself.
const pemBundle = z
  .string()
  .regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, 'expected one or more PEM certificates (-----BEGIN CERTIFICATE----- ...)')
  // The configuration is deployed as a plain SSM parameter: a key pasted along must not go with it.
  .refine((pem) => !/PRIVATE KEY/.test(pem), { message: 'expected certificates only: this PEM contains a PRIVATE KEY; remove it (and consider that key exposed)' });

const caBundleRef = z.union(
  [
    z.object({ pem: pemBundle }).strict(),
    z.object({ secret: z.string().min(1, 'expected a Secrets Manager secret name or ARN') }).strict(),
  ],
  { error: 'expected { "pem": "-----BEGIN CERTIFICATE-----..." } or { "secret": "name-or-arn" } holding the PEM bundle' },
);

const applianceTls = z
  .object({
    /** The CA that signed the appliance's (usually self-signed) certificate. */
    ca: caBundleRef.optional(),
    /**
     * Turns certificate verification off. Named to be noticed in review; every run that
     * uses it logs a warning.
     */
    dangerouslyDisableCertificateVerification: z.literal(true, { error: 'expected true, or leave the field out' }).optional(),
  })
  .strict()
  .refine((tls) => !(tls.ca && tls.dangerouslyDisableCertificateVerification), {
    message: 'give either a CA bundle (ca) or dangerouslyDisableCertificateVerification, not both',
    path: ['dangerouslyDisableCertificateVerification'],
  });

const username = z.string().min(1, 'expected the appliance user name');

// Riverbed appliances accept one of these (DESIGN.md): an AppResponse-style token, Basic,
// or a NetProfiler-style OAuth 2 token endpoint.
const applianceAuth = z.discriminatedUnion(
  'method',
  [
    z
      .object({
        method: z.literal('token'),
        /** `/api/mgmt.aaa/1.0/token`; AppResponse 11.6 and later also serve 2.0. */
        apiVersion: z.enum(['1.0', '2.0']).default('1.0'),
        username,
        password: credentialsRef,
      })
      .strict(),
    z.object({ method: z.literal('basic'), username, password: credentialsRef }).strict(),
    z
      .object({
        method: z.literal('oauth2'),
        tokenPath: z.string().regex(/^\/[^\s?#]*$/, 'expected a path on the appliance such as /api/common/1.0/oauth/token').default('/api/common/1.0/oauth/token'),
        /** access_code: the code generated in the appliance UI (sent as `assertion`); client_credentials: clientId + secret. */
        grantType: z.enum(['access_code', 'client_credentials']).default('access_code'),
        clientId: z.string().min(1).optional(),
        secret: credentialsRef,
      })
      .strict()
      .refine((auth) => auth.grantType !== 'client_credentials' || auth.clientId !== undefined, {
        message: 'client_credentials needs clientId',
        path: ['clientId'],
      }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'expected "method" to be one of: token, basic, oauth2' : undefined) },
);

export const applianceTargetSchema = z
  .object({
    name: targetName,
    kind: z.literal('appliance'),
    /** The appliance itself, e.g. https://appresponse.example.net; the API path is added. */
    baseUrl: apiBaseUrl,
    auth: applianceAuth,
    tls: applianceTls.optional(),
    schedule: scheduleExpression.optional(),
    poll: pollPolicy.default({ initialSeconds: 15, maxSeconds: 120, timeoutMinutes: 120 }),
    retention: retentionPolicy.optional(),
    /** How many offsite-made backups stay on the appliance after a verified copy (it holds only a couple). */
    applianceKeep: z.number().int().min(0).max(10).default(1),
    restore: z
      .object({
        /** How long the appliance may be unreachable after a restore starts (it reboots). */
        rebootWindowMinutes: z.number().int().min(1).max(240).default(30),
      })
      .strict()
      .default({ rebootWindowMinutes: 30 }),
    // Kept well inside the 120 s of an API-call function, which may make a token request too.
    requestTimeoutSeconds: z.number().int().min(1).max(45).default(30),
  })
  .strict();

export const TARGET_KINDS = ['netbox-cloud', 'appliance'] as const;

export const targetSchema = z.discriminatedUnion('kind', [netboxCloudTargetSchema, applianceTargetSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? `expected "kind" to be one of: ${TARGET_KINDS.join(', ')}` : undefined),
});

const awsId = (prefix: string, example: string) =>
  z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `expected an id such as ${example}`);

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
    network: networkPlacement.optional(),
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
export type ApplianceTarget = z.infer<typeof applianceTargetSchema>;
export type ApplianceAuth = ApplianceTarget['auth'];
export type CaBundleRef = z.infer<typeof caBundleRef>;
export type NetworkPlacement = z.infer<typeof networkPlacement>;
export type CredentialsRef = z.infer<typeof credentialsRef>;
export type PollPolicy = z.infer<typeof pollPolicy>;
export type ArchiveConfig = OffsiteConfig['archive'];
