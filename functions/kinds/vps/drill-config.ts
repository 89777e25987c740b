// The `drill` block of a VPS target: where its restore is rehearsed, when, and what the
// restored system must show (the shared refusal is in functions/drill/config.ts).
import { z } from 'zod';
import { scheduleExpression } from '../../config/common';

/** Probe URLs may be plain http (a drill server is rarely behind TLS); nothing secret goes with them. */
const probeUrl = z.url({ error: 'expected an absolute http(s) URL such as https://drill-web.example/health' }).refine((value) => /^https?:$/.test(new URL(value).protocol), {
  message: 'expected an http:// or https:// URL',
});

export const vpsDrillSchema = z
  .object({
    /** Another server id of the same provider account (never the target's own serverId). */
    to: z.number({ error: "expected the provider's numeric server id, such as 67890" }).int('expected a whole number').positive('expected a server id above 0'),
    schedule: scheduleExpression.optional(),
    checks: z
      .object({
        probe: z
          .object({
            url: probeUrl,
            timeoutSeconds: z.number().int().min(1).max(60).default(10),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
