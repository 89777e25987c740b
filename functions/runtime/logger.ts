import { Logger } from '@aws-lambda-powertools/logger';
import { search } from '@aws-lambda-powertools/logger/correlationId';

// One logger per process. Service name and level come from POWERTOOLS_SERVICE_NAME and
// POWERTOOLS_LOG_LEVEL (set by the stack in AWS, and by the CLI locally). The search
// function is what lets the middleware's correlationIdPath ("executionName") reach
// every log line as correlation_id: without it Logger v2 drops the id with a warning.
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'offsite', correlationIdSearchFn: search });
