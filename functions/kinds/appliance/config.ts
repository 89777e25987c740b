import { z } from 'zod';
import { apiBaseUrl, credentialsRef, freshnessHours, pollPolicy, retentionPolicy, scheduleExpression, targetName, tlsSettings } from '../../config/common';
import { ownDestinationRefusal } from '../../drill/config';
import { applianceDrillSchema } from './drill-config';

const username = z.string().min(1, 'expected the appliance user name');

// Riverbed appliances accept one of these (docs/design.md, "Facts about the vendors"): an AppResponse-style token, Basic,
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
    tls: tlsSettings.optional(),
    schedule: scheduleExpression.optional(),
    poll: pollPolicy.default({ initialSeconds: 15, maxSeconds: 120, timeoutMinutes: 120 }),
    retention: retentionPolicy.optional(),
    freshnessHours: freshnessHours.optional(),
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
    /** The restore drill: another configured appliance target (a lab box) the newest archived copy is uploaded to and restored on. */
    drill: applianceDrillSchema.optional(),
  })
  .strict()
  .refine((target) => target.drill?.to !== target.name, ownDestinationRefusal('appliance target'));


export type ApplianceTarget = z.infer<typeof applianceTargetSchema>;
export type ApplianceAuth = ApplianceTarget['auth'];
