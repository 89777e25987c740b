import { z } from 'zod';
import { LIFECYCLES } from '../../catalog';
import { DRILL_LIFECYCLES } from '../../drill/jobs';
import { lambdaHandler } from '../../middleware/middleware';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { isLifecycleMachine, planFleetRun } from '../fan-out';

const event = z.object({
  request: z
    .object({
      lifecycle: z.string(),
      schedule: z.string().optional(),
      targets: z.array(z.string()).optional(),
      maxConcurrency: z.number().int().min(1).max(40).optional(),
    })
    .loose(),
  /** The machine this fan-out starts (filled in by the stack): the input must name its lifecycle. */
  lifecycleStateMachineArn: z.string(),
  executionName: z.string().optional(),
});

/** PlanFleetRun: the group's targets, read here so the list never travels in a schedule's input. */
export const handler = lambdaHandler(event, async ({ request, lifecycleStateMachineArn }) => {
  const lifecycle = [...LIFECYCLES, ...DRILL_LIFECYCLES].find((candidate) => isLifecycleMachine(lifecycleStateMachineArn, candidate));
  if (!lifecycle) throw new Error(`${lifecycleStateMachineArn} is not the state machine of any lifecycle in the catalog`);
  return planFleetRun(await loadRuntimeConfig(), lifecycle, request);
});
