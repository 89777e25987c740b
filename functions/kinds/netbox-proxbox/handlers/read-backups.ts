import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { readBackups } from '../audit';
import { executionName, readStep, targetName } from './clients';

/** ReadBackups: the backup files Proxbox syncs (404: freshness cannot be checked, not a failure). */
export const handler = lambdaHandler(z.object({ target: targetName, executionName }), (event) => readStep(event, 'backups', readBackups));
