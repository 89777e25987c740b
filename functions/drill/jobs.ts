// The drill's functions and lifecycles. One ASL file (state-machines/drill.asl.json) runs
// every kind's drill: PlanDrill → the kind's own restore state machine as a child
// execution → RunChecks → WriteReport. It is deployed once per kind that can drill, with
// ${RestoreStateMachineArn} filled with that kind's restore machine, so each drill machine
// may start exactly one restore machine and a kind's restore is never re-implemented.
// Plain data, like a kind definition: the CDK app imports it without the AWS SDK.
import { API_CALL } from '../kinds/function-defaults';
import type { KindFunctionSpec } from '../kinds/kind';
import { KIND_LIST, type TargetKind } from '../kinds/registry';

const handler = (name: string): string => `functions/drill/handlers/${name}.ts`;

/** The CheckFreshness function's variable naming the drill-overdue alarm it fills with names. */
export const DRILL_OVERDUE_ALARM_ENV = 'OFFSITE_DRILL_OVERDUE_ALARM';

export const DRILL_DEFINITION_FILE = 'state-machines/drill.asl.json';
/** The placeholder of the child restore state machine's ARN in the drill ASL. */
export const RESTORE_STATE_MACHINE_PLACEHOLDER = 'RestoreStateMachineArn';

export const DRILL_FUNCTIONS: readonly KindFunctionSpec[] = [
  {
    id: 'DrillPlan',
    entry: handler('plan-drill'),
    description: 'Drill: refuses a destination that is the production target, picks the newest verified copy and the restore input',
    ...API_CALL,
    archive: 'read',
    // A backup whose primary copy is missing or found bad is drilled from the secondary's copy.
    secondary: 'read',
    network: 'internet',
    creates: false,
  },
  {
    id: 'DrillChecks',
    entry: handler('run-checks'),
    description: 'Drill: checks the restored destination (NetBox REST status and counts, appliance restore status/version/host name, server status and probe)',
    ...API_CALL,
    // Appliance drill destinations sit on private networks like the appliances.
    network: 'private-network',
    creates: false,
  },
  {
    id: 'DrillReport',
    entry: handler('write-report'),
    description: 'Drill: writes the drill report to <prefix><target>/drills/<time>.json',
    ...API_CALL,
    // PutObject under */drills/* only, granted by lib/drills.ts.
    archive: 'none',
    network: 'internet',
    creates: false,
  },
];

export interface DrillLifecycleSpec {
  readonly id: string;
  readonly kind: TargetKind;
  readonly purpose: 'drill';
  readonly definitionFile: string;
  /** The kind's restore lifecycle, started as the child execution. */
  readonly restoreLifecycleId: string;
  readonly timeoutHours: number;
}

/** One drill machine per kind that has drill rules and a restore lifecycle; its ceiling is the restore's plus an hour for the checks. */
export const DRILL_LIFECYCLES: readonly DrillLifecycleSpec[] = KIND_LIST.flatMap((definition) => {
  const restore = definition.lifecycles.find((lifecycle) => lifecycle.purpose === 'restore');
  if (!('drill' in definition) || !restore) return [];
  return [{ id: restore.id.replace(/Restore$/, 'Drill'), kind: definition.kind, purpose: 'drill' as const, definitionFile: DRILL_DEFINITION_FILE, restoreLifecycleId: restore.id, timeoutHours: restore.timeoutHours + 1 }];
});

export function drillLifecycleFor(kind: TargetKind): DrillLifecycleSpec | undefined {
  return DRILL_LIFECYCLES.find((lifecycle) => lifecycle.kind === kind);
}
