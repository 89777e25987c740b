import { z } from 'zod';
import { lambdaHandler } from '../../../handlers/middleware';
import { readBackups } from '../audit';
import { executionName, readStep, targetName } from './events';

/** ReadBackups: the backup files Proxbox syncs (404: freshness cannot be checked, not a failure). */
export const handler = lambdaHandler(z.object({ target: targetName, executionName }), (event) => readStep(event, 'backups', readBackups));
