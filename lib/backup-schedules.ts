import { ArnFormat, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { TargetConfig } from '../functions/config/schema';
import { scheduledPurpose } from '../functions/kinds/kind';
import { kindOf } from '../functions/kinds/registry';

export interface BackupSchedulesProps {
  /** All configured targets; those with a `schedule` get one. */
  readonly targets: readonly TargetConfig[];
  /** IANA time zone the schedule expressions are evaluated in (`timezone` in the configuration). */
  readonly timezone: string;
  /** The backup state machine for a target's kind. */
  readonly backupStateMachineFor: (kind: TargetConfig['kind']) => sfn.IStateMachine;
  /** The audit state machine for a kind whose schedule starts its audit (a kind without a backup lifecycle, such as netbox-proxbox). */
  readonly auditStateMachineFor?: (kind: TargetConfig['kind']) => sfn.IStateMachine;
  /** Start of the schedule names, e.g. "offsite" → "offsite-backup-netbox-prod". */
  readonly namePrefix: string;
}

/**
 * One EventBridge Scheduler schedule per scheduled target, in the configured time zone,
 * starting that kind's backup state machine with `{"target": "<name>"}`.
 */
export class BackupSchedules extends Construct {
  readonly schedules = new Map<string, Schedule>();
  /** The role EventBridge Scheduler assumes to start the executions (undefined when nothing is scheduled). */
  readonly role?: iam.Role;

  constructor(scope: Construct, id: string, props: BackupSchedulesProps) {
    super(scope, id);
    const scheduled = props.targets.filter((target) => target.schedule !== undefined);
    if (scheduled.length === 0) return;

    const stack = Stack.of(this);
    const defaultGroupArn = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule-group',
      resourceName: 'default',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    // One role for all schedules, assumable only by Scheduler on behalf of this
    // account's default schedule group; it may start the backup machines and nothing else.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': defaultGroupArn } },
      }),
      description: 'offsite: lets EventBridge Scheduler start the backup state machines',
    });

    const timeZone = TimeZone.of(props.timezone);
    for (const target of scheduled) {
      const expression = target.schedule ?? '';
      // From the kind's definition: its backup lifecycle, else its audit (scheduledPurpose).
      const purpose = scheduledPurpose(kindOf(target)) ?? 'backup';
      const stateMachine = purpose === 'audit' && props.auditStateMachineFor ? props.auditStateMachineFor(target.kind) : props.backupStateMachineFor(target.kind);
      const scheduleName = `${props.namePrefix}-${purpose}-${target.name}`;
      const schedule = new Schedule(this, `Schedule-${target.name}`, {
        // Scheduler names: at most 64 characters; otherwise CloudFormation generates one.
        ...(scheduleName.length <= 64 ? { scheduleName } : {}),
        description: `offsite: ${purpose === 'audit' ? 'audit' : 'back up'} ${target.name} (${target.kind}) on ${expression} in ${props.timezone}`,
        schedule: ScheduleExpression.expression(expression, timeZone),
        target: new StepFunctionsStartExecution(stateMachine, {
          role: this.role,
          input: ScheduleTargetInput.fromObject({ target: target.name }),
        }),
      });
      this.schedules.set(target.name, schedule);
    }
  }
}
