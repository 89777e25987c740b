import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { publishAuditMetrics } from '../metrics';
import { targetName } from './clients';

const severityCounts = z.object({ critical: z.number().int().min(0), warning: z.number().int().min(0), info: z.number().int().min(0) });

/** PublishMetrics: VMs in scope, uncovered VMs and findings by severity, as embedded-metric-format lines (namespace offsite, dimension Target). */
export const handler = lambdaHandler(
  z.object({
    target: targetName,
    summary: z.object({ target: targetName, generatedAt: z.string(), virtualMachines: z.number().int().min(0), covered: z.number().int().min(0), uncovered: z.number().int().min(0), findings: severityCounts }),
  }),
  async (event) => publishAuditMetrics(event.summary),
);
