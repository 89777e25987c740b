import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { readVirtualMachines } from '../audit';
import { executionName, readStep, targetName } from './clients';

/** ReadVirtualMachines: every NetBox VM (exclude=config_context), kept as small records in S3. */
export const handler = lambdaHandler(z.object({ target: targetName, executionName }), (event) => readStep(event, 'virtual-machines', readVirtualMachines));
