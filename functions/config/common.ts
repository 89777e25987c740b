// Schema pieces every kind of target builds its configuration from.
import { z } from 'zod';

export const targetName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'expected lower-case letters, digits and dashes (at most 48), starting with a letter or digit');

export const credentialsRef = z.union(
  [
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }).strict(),
    z.object({ secret: z.string().min(1, 'expected a Secrets Manager secret name or ARN') }).strict(),
  ],
  { error: 'expected { "env": "VARIABLE_NAME" } for local runs or { "secret": "name-or-arn" } for Secrets Manager' },
);

// EventBridge Scheduler expressions; the time zone comes from the top-level `timezone`.
export const scheduleExpression = z
  .string()
  .regex(/^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|at\(.+\))$/, 'expected an EventBridge Scheduler expression such as "cron(0 2 * * ? *)" or "rate(1 day)"');

export const pollPolicy = z
  .object({
    initialSeconds: z.number().int().min(1).max(3600).default(15),
    maxSeconds: z.number().int().min(1).max(3600).default(300),
    timeoutMinutes: z.number().int().min(1).max(12 * 60).default(180),
  })
  .strict()
  .refine((poll) => poll.maxSeconds >= poll.initialSeconds, { message: 'maxSeconds must be at least initialSeconds', path: ['maxSeconds'] });

export const retentionPolicy = z
  .object({
    keepLast: z.number().int().min(0).optional(),
    keepHourly: z.number().int().min(0).optional(),
    keepDaily: z.number().int().min(0).optional(),
    keepWeekly: z.number().int().min(0).optional(),
    keepMonthly: z.number().int().min(0).optional(),
    keepYearly: z.number().int().min(0).optional(),
  })
  .strict();

/**
 * How old a target's newest verified copy may be before `status` and the freshness check
 * call it stale; absent: one schedule interval plus the poll budget plus one hour.
 */
export const freshnessHours = z.number({ error: 'expected a number of hours' }).positive('expected a number of hours above 0').max(24 * 400, 'expected at most 9600 hours (400 days)');

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}

// Plain http is only accepted for loopback (simulators, the sandbox): an API key must
// never cross a network in clear text.
export const apiBaseUrl = z.url({ error: 'expected an absolute URL such as https://api.netboxlabs.com' }).refine(
  (value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
  },
  { message: 'expected https:// (plain http:// is accepted only for 127.0.0.1/localhost)' },
);

// A PEM bundle is recognised by its armour; the TLS layer reports a malformed one by itself.
const pemBundle = z
  .string()
  .regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, 'expected one or more PEM certificates (-----BEGIN CERTIFICATE----- ...)')
  // The configuration is deployed as a plain SSM parameter: a key pasted along must not go with it.
  .refine((pem) => !/PRIVATE KEY/.test(pem), { message: 'expected certificates only: this PEM contains a PRIVATE KEY; remove it (and consider that key exposed)' });

export const caBundleRef = z.union(
  [
    z.object({ pem: pemBundle }).strict(),
    z.object({ secret: z.string().min(1, 'expected a Secrets Manager secret name or ARN') }).strict(),
  ],
  { error: 'expected { "pem": "-----BEGIN CERTIFICATE-----..." } or { "secret": "name-or-arn" } holding the PEM bundle' },
);

export const tlsSettings = z
  .object({
    /** The CA that signed the server's certificate (appliances and self-hosted servers are usually self-signed). */
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


export type CredentialsRef = z.infer<typeof credentialsRef>;
export type PollPolicy = z.infer<typeof pollPolicy>;
export type CaBundleRef = z.infer<typeof caBundleRef>;
export type TlsSettings = z.infer<typeof tlsSettings>;
