import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { readVmLinks } from '../audit';
import { executionName, readStep, targetName } from './clients';

/** ReadVmLinks: Proxbox sync-state rows linking NetBox VMs to Proxmox VMIDs (404: none, the custom fields link). */
export const handler = lambdaHandler(z.object({ target: targetName, executionName }), (event) => readStep(event, 'vm-links', readVmLinks));
