import { z } from 'zod';
import { lambdaHandler } from '../../middleware/middleware';
import { logger } from '../../runtime/logger';
import { summarizeFleetRun } from '../fan-out';

const event = z.object({
  lifecycle: z.string(),
  results: z.array(
    z.object({ target: z.string(), status: z.enum(['SUCCEEDED', 'FAILED']), error: z.string().optional(), execution: z.string().optional() }),
  ),
  executionName: z.string().optional(),
});

/** SummarizeFleetRun: the fan-out's result, which targets succeeded and which failed. */
export const handler = lambdaHandler(event, ({ lifecycle, results }) => {
  const summary = summarizeFleetRun(lifecycle, results);
  logger.info('fan-out finished', { lifecycle, total: summary.total, failed: summary.failed.map((failure) => failure.target) });
  return Promise.resolve(summary);
});
