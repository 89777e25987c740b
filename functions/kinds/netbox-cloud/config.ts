import { z } from 'zod';
import { apiBaseUrl, credentialsRef, freshnessHours, pollPolicy, retentionPolicy, scheduleExpression, targetName } from '../../config/common';
import { ownDestinationRefusal } from '../../drill/config';
import { netboxCloudDrillSchema } from './drill-config';

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
    freshnessHours: freshnessHours.optional(),
    requestTimeoutSeconds: z.number().int().min(1).max(300).default(30),
    /**
     * Lets presigned download links point at private addresses (RFC 1918, CGNAT, IPv6
     * unique-local). Absent means false; link-local and metadata addresses stay refused.
     */
    allowPrivateDownloadHosts: z.boolean({ error: 'expected true or false' }).optional(),
    /** The restore drill: another instance the newest copy is restored onto, checked through its REST API. */
    drill: netboxCloudDrillSchema.optional(),
  })
  .strict()
  .refine((target) => target.drill?.to !== target.instanceId, ownDestinationRefusal('instance'));


export type NetboxCloudTarget = z.infer<typeof netboxCloudTargetSchema>;
