import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { scheduleGroupTag } from '../../../fleet/groups';
import { loadRuntimeConfig } from '../../../runtime/config-source';
import { publishAuditMetrics } from '../metrics';
import { targetName } from './clients';

const severityCounts = z.object({ critical: z.number().int().min(0), warning: z.number().int().min(0), info: z.number().int().min(0) });

/** PublishMetrics: VMs in scope, uncovered VMs and findings by severity, as embedded-metric-format lines (namespace offsite, dimension Target; the uncovered count also by AuditGroup). */
export const handler = lambdaHandler(
  z.object({
    target: targetName,
    summary: z.object({ target: targetName, generatedAt: z.string(), virtualMachines: z.number().int().min(0), covered: z.number().int().min(0), uncovered: z.number().int().min(0), findings: severityCounts }),
  }),
  async (event) => {
    // The group is the target's schedule expression as deployed (the alarm the stack made for it).
    const target = (await loadRuntimeConfig()).targets.find((candidate) => candidate.name === event.target);
    return publishAuditMetrics(event.summary, scheduleGroupTag(target?.schedule));
  },
);
