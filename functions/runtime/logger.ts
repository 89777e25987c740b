import { Logger } from '@aws-lambda-powertools/logger';

// One logger per process. Service name and level come from POWERTOOLS_SERVICE_NAME and
// POWERTOOLS_LOG_LEVEL (set by the stack in AWS, and by the CLI locally).
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'offsite' });
