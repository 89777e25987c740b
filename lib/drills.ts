import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, TimeZone, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { functionArnPlaceholder } from '../functions/catalog';
import type { OffsiteConfig, TargetConfig } from '../functions/config/schema';
import { DRILL_DEFINITION_FILE, DRILL_FUNCTIONS, DRILL_LIFECYCLES, DRILL_OVERDUE_ALARM_ENV, RESTORE_STATE_MACHINE_PLACEHOLDER } from '../functions/drill/jobs';
import { kindOf } from '../functions/kinds/registry';
import { expressionTag } from '../functions/fleet/groups';
import { FanOutStateMachine } from './fleet-fan-out';
import type { OffsiteFunction } from './offsite-function';
import { REPO_ROOT } from './offsite-function';
import { drillSecretPrefixes, secretsUnder, secretsUnderNagId } from './secret-grants';
import { grantArchiveKey, KMS_DOCUMENT_ACTIONS } from './archive-grants';

export interface DrillsProps {
  readonly config: OffsiteConfig;
  readonly functions: ReadonlyMap<string, OffsiteFunction>;
  /** The kind's restore state machine and its name, which its drill machine starts as a child execution. */
  readonly restoreStateMachineFor: (kind: TargetConfig['kind']) => { readonly stateMachine: sfn.IStateMachine; readonly stateMachineName: string };
  readonly bucket: s3.IBucket;
  /** The archive's KMS key (archive.kms): the drill reports are written with it. */
  readonly encryptionKey?: kms.IKey | undefined;
  readonly topic: sns.ITopic;
  readonly namePrefix: string;
}

/**
 * Restore drills: one state machine per kind with drilled targets (state-machines/drill.asl.json
 * with that kind's restore machine as the child), a schedule per drill, an alarm per
 * machine when a drill fails and one when drills are overdue; the drill functions get
 * only the drill destinations' secrets and write only drill reports.
 */
export class Drills extends Construct {
  readonly stateMachines = new Map<string, sfn.StateMachine>();
  /** The drill machines with their names, in kind order (the dashboard graphs them). */
  readonly machines: { readonly kind: string; readonly stateMachine: sfn.StateMachine; readonly stateMachineName: string }[] = [];
  readonly schedules: Schedule[] = [];
  /** By drill lifecycle id: the fan-out each kind's drill schedules start (kinds with a scheduled drill). */
  readonly fanOuts = new Map<string, FanOutStateMachine>();
  readonly failedAlarms: cloudwatch.Alarm[] = [];
  readonly overdueAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DrillsProps) {
    super(scope, id);
    const drilled = props.config.targets.filter((target) => (target as { drill?: unknown }).drill !== undefined);
    if (drilled.length === 0) return;
    const stack = Stack.of(this);
    const action = new SnsAction(props.topic);
    const fn = (functionId: string): OffsiteFunction => {
      const found = props.functions.get(functionId);
      if (!found) throw new Error(`Drills: no function ${functionId} in the catalog (functions/drill/jobs.ts)`);
      return found;
    };

    // The drills' own tokens and the destinations' credentials, by name prefix (lib/secret-grants.ts): fixed, however many drills.
    for (const namePrefix of drillSecretPrefixes(props.config)) {
      fn('DrillChecks').addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretsUnder(stack, namePrefix)] }));
      Validations.of(fn('DrillChecks').role).acknowledge({
        id: secretsUnderNagId(stack, namePrefix),
        reason: `GetSecretValue on the secrets named under "${namePrefix}" only: the drill checks' tokens and the drill destinations' credentials, named there by the operator; synth refuses a drill secret named elsewhere.`,
      });
    }
    const reports = `${props.config.archive.prefix}*/drills/*`;
    fn('DrillReport').addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [props.bucket.arnForObjects(reports)] }));
    Validations.of(fn('DrillReport').role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(props.bucket.node.defaultChild as CfnElement)}.Arn>/${reports}]`,
      reason: 'PutObject on drill report documents only (<prefix><target>/drills/<time>.json, named at run time); no write to copies or manifests, no delete.',
    });
    grantArchiveKey(fn('DrillReport'), props.encryptionKey, KMS_DOCUMENT_ACTIONS, props.config.archive.region);

    const lambdas = new Map<string, lambda.IFunction>([...props.functions].map(([functionId, offsite]) => [functionId, offsite.function]));
    const text = readFileSync(join(REPO_ROOT, DRILL_DEFINITION_FILE), 'utf8');
    const role = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'offsite: lets EventBridge Scheduler start the drill fan-out state machines',
    });
    const timeZone = TimeZone.of(props.config.timezone);
    for (const spec of DRILL_LIFECYCLES) {
      const targets = drilled.filter((target) => target.kind === spec.kind);
      if (targets.length === 0) continue;
      const { stateMachine: restore, stateMachineName: restoreName } = props.restoreStateMachineFor(spec.kind);
      const name = `${props.namePrefix}-${spec.kind}-drill`;
      const logGroup = new logs.LogGroup(this, `${spec.id}Logs`, { logGroupName: `/aws/vendedlogs/states/${name}`, retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
      const definition = JSON.stringify({ ...(JSON.parse(text) as Record<string, unknown>), TimeoutSeconds: spec.timeoutHours * 3600 });
      const machine = new sfn.StateMachine(this, spec.id, {
        stateMachineName: name,
        stateMachineType: sfn.StateMachineType.STANDARD,
        definitionBody: sfn.DefinitionBody.fromString(definition),
        definitionSubstitutions: {
          ...Object.fromEntries(DRILL_FUNCTIONS.map((spec_) => [functionArnPlaceholder(spec_.id), fn(spec_.id).function.functionArn])),
          [RESTORE_STATE_MACHINE_PLACEHOLDER]: restore.stateMachineArn,
        },
        logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
        tracingEnabled: true,
      });
      machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: DRILL_FUNCTIONS.map((spec_) => fn(spec_.id).function.functionArn) }));
      // startExecution.sync:2 on this kind's restore machine only: start it, follow and stop its executions, and the managed rule that reports their end.
      machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [restore.stateMachineArn] }));
      const executions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${restoreName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [executions] }));
      machine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
          resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
        }),
      );
      Validations.of(machine.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Added by CDK for Step Functions logging and tracing (vended-log delivery and X-Ray actions have no resource-level permissions); the child executions are limited to this kind\'s restore machine.',
      });
      Validations.of(machine.role).acknowledge({
        // cdk-nag names the resource as the template has it: literal region and account when the stack's env gives them.
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region}:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:execution:${restoreName}:*]`,
        reason: `Following and stopping the child executions of the one restore machine this drill machine starts (${restoreName}, startExecution.sync): their names are only known once started.`,
      });
      this.stateMachines.set(spec.kind, machine);
      this.machines.push({ kind: spec.kind, stateMachine: machine, stateMachineName: name });
      // Keyed as the lifecycles' outputs are (bin/remote/sfn.ts stateMachineOutputKey), so `offsite drill --remote` finds it.
      new CfnOutput(this, `${spec.id}StateMachineArn`, { value: machine.stateMachineArn, description: `drill state machine for ${spec.kind} (${name}); input {"target": "<name>"}` }).overrideLogicalId(
        `${spec.id}StateMachineArn`,
      );

      const failed = new cloudwatch.Alarm(this, `${spec.id}Failed`, {
        alarmName: `${name}-failed`,
        alarmDescription:
          `A ${kindOf(targets[0] as TargetConfig).title} restore drill failed (${name}). Step Functions console → ${name} → the failed execution: DrillCheckFailed = the restore completed but a check failed (the report names it); ` +
          'DrillRestoreFailed = the restore onto the drill destination failed (the child restore execution shows why); DrillRefused = the destination is the production target (fix drill.to); DrillNotStarted = no verified copy or no drill. ' +
          'The report is in the archive under <prefix><target>/drills/. A failed drill means the newest copy may not restore: act before you need it.',
        metric: machine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      failed.addAlarmAction(action);
      this.failedAlarms.push(failed);

      // Drill schedules by group, as backups: one schedule per (kind, drill expression) starts a
      // fan-out over this drill machine, which reads the group's targets from the deployed
      // configuration, so the stack does not grow with the drilled targets.
      const expressions = [...new Set(targets.flatMap((target) => {
        const expression = (target as { drill?: { schedule?: string } }).drill?.schedule;
        return expression === undefined ? [] : [expression];
      }))];
      if (expressions.length === 0) continue;
      const fanOut = new FanOutStateMachine(this, `${spec.id}FanOut`, { lifecycle: { stateMachine: machine, stateMachineName: name }, functions: lambdas, namePrefix: props.namePrefix });
      this.fanOuts.set(spec.id, fanOut);
      new CfnOutput(this, `${spec.id}FanOutStateMachineArn`, {
        value: fanOut.stateMachine.stateMachineArn,
        description: `fan-out running ${spec.id} over a group of drilled targets (${fanOut.stateMachineName}); input {"lifecycle": "${spec.id}", "schedule"?: "<drill expression>", "targets"?: ["<name>"]}`,
      }).overrideLogicalId(`${spec.id}FanOutStateMachineArn`);
      for (const expression of expressions) {
        const count = targets.filter((target) => (target as { drill?: { schedule?: string } }).drill?.schedule === expression).length;
        const scheduleName = `${props.namePrefix}-${spec.kind}-drill-${expressionTag(expression)}`;
        this.schedules.push(
          new Schedule(this, `Schedule-${spec.id}-${expressionTag(expression)}`, {
            ...(scheduleName.length <= 64 ? { scheduleName } : {}),
            description: `offsite: restore drills of the ${count} ${spec.kind} target(s) drilled on ${expression} in ${props.config.timezone}`,
            schedule: ScheduleExpression.expression(expression, timeZone),
            target: new StepFunctionsStartExecution(fanOut.stateMachine, { role, input: ScheduleTargetInput.fromObject({ lifecycle: spec.id, schedule: expression }) }),
          }),
        );
      }
    }

    this.overdueAlarm = new cloudwatch.Alarm(this, 'Overdue', {
      alarmName: `${props.namePrefix}-drills-overdue`,
      alarmDescription:
        'One or more targets have no restore drill that passed within their drill schedule (drill.schedule plus the poll budget plus one hour), or none passed yet; the state reason names them. ' +
        'First: `offsite status` (LAST DRILL PASSED), then the drill state machine\'s executions (failing? not started = EventBridge Scheduler → Schedules → <prefix>-<kind>-drill-<8 hex>, then the <kind>-drill-fan-out executions).',
      metric: new cloudwatch.Metric({ namespace: 'offsite', metricName: 'OverdueDrills', dimensionsMap: { Job: 'freshness' }, statistic: 'Maximum', period: Duration.hours(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // The stale-targets alarm already alarms on the freshness check not running.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.overdueAlarm.addAlarmAction(action);
    this.overdueAlarm.addOkAction(action);
    const freshness = fn('CheckFreshness');
    freshness.function.addEnvironment(DRILL_OVERDUE_ALARM_ENV, `${props.namePrefix}-drills-overdue`);
    freshness.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:SetAlarmState'],
        resources: [stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${props.namePrefix}-drills-overdue`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
  }
}
