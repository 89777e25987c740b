import { z } from 'zod';
import { lambdaHandler } from '../../middleware/middleware';
import { describeTargetFailure } from '../fan-out';

const event = z.object({
  target: z.string(),
  failure: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).loose(),
  executionName: z.string().optional(),
});

/** RecordTargetFailure: a failed target's child execution, reduced to its error and name. */
export const handler = lambdaHandler(event, ({ target, failure }) => Promise.resolve(describeTargetFailure(target, failure)));
