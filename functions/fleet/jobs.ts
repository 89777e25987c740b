// The fan-out's functions and state machines. One ASL file (state-machines/fan-out.asl.json)
// runs a scheduled group of targets: PlanFleetRun (the group, read from the deployed
// configuration) → a Map whose items start the lifecycle as child executions
// (startExecution.sync:2) → SummarizeFleetRun. It is deployed once per scheduled lifecycle,
// with ${LifecycleStateMachineArn} filled with that lifecycle's machine, so each fan-out may
// start exactly one machine and the stack grows with the kinds, not with the targets.
// Plain data, like a kind definition: the CDK app imports it without the AWS SDK.
import { API_CALL } from '../kinds/function-defaults';
import type { KindFunctionSpec } from '../kinds/kind';

const handler = (name: string): string => `functions/fleet/handlers/${name}.ts`;

export const FAN_OUT_DEFINITION_FILE = 'state-machines/fan-out.asl.json';
/** The placeholder of the child lifecycle state machine's ARN in the fan-out ASL. */
export const LIFECYCLE_STATE_MACHINE_PLACEHOLDER = 'LifecycleStateMachineArn';
/**
 * One fan-out execution's ceiling: 1,000 targets at 4 at once and ten minutes each are
 * about 42 hours; a week leaves room without letting a stuck run live for a year.
 */
export const FAN_OUT_TIMEOUT_HOURS = 168;

export const FLEET_FUNCTIONS: readonly KindFunctionSpec[] = [
  {
    id: 'FleetPlanRun',
    entry: handler('plan-fleet-run'),
    description: 'Fan-out: the targets of one scheduled group from the deployed configuration, their start jitter and the concurrency',
    ...API_CALL,
    timeoutSeconds: 30,
    network: 'internet',
    creates: false,
  },
  {
    id: 'FleetRecordFailure',
    entry: handler('record-target-failure'),
    description: "Fan-out: one target's failed child execution in a few bytes (its error and execution name)",
    ...API_CALL,
    timeoutSeconds: 30,
    network: 'internet',
    creates: false,
  },
  {
    id: 'FleetSummarize',
    entry: handler('summarize-fleet-run'),
    description: 'Fan-out: which targets of the group succeeded and which failed',
    ...API_CALL,
    timeoutSeconds: 30,
    network: 'internet',
    creates: false,
  },
];
