import { z } from 'zod';
import { apiBaseUrl, credentialsRef, freshnessHours, pollPolicy, retentionPolicy, scheduleExpression, targetName } from '../../config/common';
import { ownDestinationRefusal } from '../../drill/config';
import { vpsDrillSchema } from './drill-config';

export const vpsTargetSchema = z
  .object({
    name: targetName,
    kind: z.literal('vps'),
    /** The provider's panel, e.g. https://admin.vps.example; `/api/v1/` is added. */
    baseUrl: apiBaseUrl,
    serverId: z.number({ error: 'expected the provider\'s numeric server id, such as 12345' }).int('expected a whole number').positive('expected a server id above 0'),
    credentials: credentialsRef,
    schedule: scheduleExpression.optional(),
    poll: pollPolicy.default({ initialSeconds: 15, maxSeconds: 300, timeoutMinutes: 180 }),
    retention: retentionPolicy.optional(),
    freshnessHours: freshnessHours.optional(),
    requestTimeoutSeconds: z.number().int().min(1).max(60).default(30),
    /** The restore drill: another server of the account the newest backup is restored onto. */
    drill: vpsDrillSchema.optional(),
  })
  .strict()
  .refine((target) => target.drill?.to !== target.serverId, ownDestinationRefusal('server'));

export type VpsTarget = z.infer<typeof vpsTargetSchema>;
