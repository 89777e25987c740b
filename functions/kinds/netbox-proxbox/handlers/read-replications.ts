import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { readReplications } from '../audit';
import { executionName, readStep, targetName } from './clients';

/** ReadReplications: every Proxbox replication job. */
export const handler = lambdaHandler(z.object({ target: targetName, executionName }), (event) => readStep(event, 'replications', readReplications));
