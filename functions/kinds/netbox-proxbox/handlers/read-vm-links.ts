import { z } from 'zod';
import { lambdaHandler } from '../../../handlers/middleware';
import { readVmLinks } from '../audit';
import { executionName, readStep, targetName } from './events';

/** ReadVmLinks: Proxbox sync-state rows linking NetBox VMs to Proxmox VMIDs (404: none, the custom fields link). */
export const handler = lambdaHandler(z.object({ target: targetName, executionName }), (event) => readStep(event, 'vm-links', readVmLinks));
