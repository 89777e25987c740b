import { ArnFormat, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { lifecycleFor, type LifecycleSpec } from '../functions/catalog';
import type { TargetConfig } from '../functions/config/schema';
import { scheduledPurpose } from '../functions/kinds/kind';
import { kindOf } from '../functions/kinds/registry';
import { expressionTag } from '../functions/fleet/groups';

export interface BackupSchedulesProps {
  /** All configured targets; those with a `schedule` are run by their group's schedule. */
  readonly targets: readonly TargetConfig[];
  /** IANA time zone the schedule expressions are evaluated in (`timezone` in the configuration). */
  readonly timezone: string;
  /** The fan-out state machine that runs a lifecycle's groups (lib/fleet-fan-out.ts). */
  readonly fanOutFor: (lifecycle: LifecycleSpec) => sfn.IStateMachine;
  /** Start of the schedule names, e.g. "offsite" → "offsite-appliance-backup-1a2b3c4d". */
  readonly namePrefix: string;
}

/** A scheduled group: the targets one lifecycle runs on one expression. */
export interface ScheduleGroup {
  readonly lifecycle: LifecycleSpec;
  readonly expression: string;
  readonly targets: readonly string[];
}

/** The scheduled targets grouped by (lifecycle, expression), in configuration order. */
export function scheduleGroups(targets: readonly TargetConfig[]): ScheduleGroup[] {
  const groups = new Map<string, { lifecycle: LifecycleSpec; expression: string; targets: string[] }>();
  for (const target of targets) {
    if (target.schedule === undefined) continue;
    // From the kind's definition: its backup lifecycle, else its audit (scheduledPurpose).
    const lifecycle = lifecycleFor(target.kind, scheduledPurpose(kindOf(target)) ?? 'backup');
    const key = `${lifecycle.id}\n${target.schedule}`;
    const group = groups.get(key) ?? { lifecycle, expression: target.schedule, targets: [] };
    group.targets.push(target.name);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** Eight hex digits of the expression: the same group keeps the same schedule name on every deploy. */
export { expressionTag };

/**
 * One EventBridge Scheduler schedule per scheduled group — per distinct (lifecycle,
 * expression), however many targets share it — in the configured time zone, starting that
 * lifecycle's fan-out with `{"lifecycle": "<id>", "schedule": "<expression>"}`. The fan-out
 * reads the group's targets from the deployed configuration, so the stack grows with the
 * kinds and the expressions in use, not with the targets.
 */
export class BackupSchedules extends Construct {
  /** By `<lifecycle id> <expression>`. */
  readonly schedules = new Map<string, Schedule>();
  readonly groups: readonly ScheduleGroup[];
  /** The role EventBridge Scheduler assumes to start the executions (undefined when nothing is scheduled). */
  readonly role?: iam.Role;

  constructor(scope: Construct, id: string, props: BackupSchedulesProps) {
    super(scope, id);
    this.groups = scheduleGroups(props.targets);
    if (this.groups.length === 0) return;

    const stack = Stack.of(this);
    const defaultGroupArn = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule-group',
      resourceName: 'default',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    // One role for all schedules, assumable only by Scheduler on behalf of this
    // account's default schedule group; it may start the fan-out machines and nothing else.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': defaultGroupArn } },
      }),
      description: 'offsite: lets EventBridge Scheduler start the fan-out state machines of the scheduled groups',
    });

    const timeZone = TimeZone.of(props.timezone);
    for (const group of this.groups) {
      const { lifecycle, expression } = group;
      const tag = expressionTag(expression);
      const scheduleName = `${props.namePrefix}-${lifecycle.kind}-${lifecycle.purpose}-${tag}`;
      const schedule = new Schedule(this, `Schedule-${lifecycle.id}-${tag}`, {
        // Scheduler names: at most 64 characters; otherwise CloudFormation generates one.
        ...(scheduleName.length <= 64 ? { scheduleName } : {}),
        // The targets are not listed here: the description would grow with them (512 characters at most).
        description: `offsite: ${lifecycle.purpose} of the ${group.targets.length} ${lifecycle.kind} target(s) scheduled on ${expression} in ${props.timezone}`,
        schedule: ScheduleExpression.expression(expression, timeZone),
        target: new StepFunctionsStartExecution(props.fanOutFor(lifecycle), {
          role: this.role,
          input: ScheduleTargetInput.fromObject({ lifecycle: lifecycle.id, schedule: expression }),
        }),
      });
      this.schedules.set(`${lifecycle.id} ${expression}`, schedule);
    }
  }
}
