import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { logger } from '../../../runtime/logger';
import { computeAudit } from '../audit';
import { auditContext, clock, executionName, storedPart, targetName } from './clients';

const parts = z.object({ vms: storedPart, links: storedPart, routines: storedPart, replications: storedPart, backups: storedPart });

/** ComputeCoverage: reads the stored lists, applies the target's coverage policy, stores the report for WriteReport. */
export const handler = lambdaHandler(z.object({ target: targetName, executionName, parts }), async (event) => {
  const { target, store, keyOf } = await auditContext(event.target, event.executionName);
  const computed = await computeAudit(store, { target: target.name, policy: target.coverage, parts: event.parts, reportWorkKey: keyOf('report'), now: clock() });
  logger.info('coverage computed', { ...computed.summary });
  return computed;
});
