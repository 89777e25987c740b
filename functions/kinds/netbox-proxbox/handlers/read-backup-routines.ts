import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { readRoutines } from '../audit';
import { executionName, readStep, targetName } from './clients';

/** ReadBackupRoutines: every Proxbox backup routine. */
export const handler = lambdaHandler(z.object({ target: targetName, executionName }), (event) => readStep(event, 'backup-routines', readRoutines));
