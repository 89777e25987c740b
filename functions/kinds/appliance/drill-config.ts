// The `drill` block of a appliance target: where its restore is rehearsed, when, and what the
// restored system must show (the shared refusal is in functions/drill/config.ts).
import { z } from 'zod';
import { scheduleExpression, targetName } from '../../config/common';

export const applianceDrillSchema = z
  .object({
    /** Another configured appliance target (typically a lab box) the drill restores onto. */
    to: targetName,
    schedule: scheduleExpression.optional(),
    checks: z
      .object({
        /** The host name the restored appliance must report; absent: it must report one. */
        hostname: z.string().min(1, 'expected a host name').optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
