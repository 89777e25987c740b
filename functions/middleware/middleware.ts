import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { logger } from '../runtime/logger';
import { InvalidInput } from '../shared/errors';

/**
 * Every Task passes `executionName` ($$.Execution.Name), which becomes the correlation
 * id of every log line the function writes for that execution.
 */
export function lambdaHandler<Schema extends z.ZodType, Result>(
  schema: Schema,
  run: (event: z.infer<Schema>) => Promise<Result>,
): middy.MiddyfiedHandler<unknown, Result, Error, Context> {
  return middy<unknown, Result, Error, Context>()
    .use(injectLambdaContext(logger, { correlationIdPath: 'executionName', resetKeys: true }))
    .handler(async (event) => run(parseEvent(schema, event)));
}

/** Validates a Task's input; the error names the field and what was expected. */
export function parseEvent<Schema extends z.ZodType>(schema: Schema, event: unknown): z.infer<Schema> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
  throw new InvalidInput(`Invalid task input — ${problems.join('; ')}`);
}
