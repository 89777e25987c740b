import { ArnFormat, Duration, Stack, TimeZone, Validations, type CfnElement } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { FRESHNESS_ALARM_ENV, FRESHNESS_SCHEDULE, SECONDARY_CATCH_UP_ALARM_ENV, VERIFY_ALARM_ENV, verifySettings } from '../functions/archive/freshness-names';
import type { OffsiteConfig } from '../functions/config/schema';
import type { OffsiteFunction } from './offsite-function';
import { grantArchiveKey, grantKeyUse, KMS_DOCUMENT_ACTIONS, secondaryObjectsArn, secondaryObjectsNagId, secondaryOnRoles } from './archive-grants';

/** The metrics the jobs publish (EMF, functions/runtime/metrics.ts), dimension Job; with `place`, the verify's per-place count (Job, Place). */
export function jobMetric(job: 'verify' | 'freshness' | 'secondary-catch-up', metricName: string, statistic: string, period: Duration, place?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: 'offsite', metricName, dimensionsMap: { Job: job, ...(place ? { Place: place } : {}) }, statistic, period, ...(place ? { label: `${metricName} (${place})` } : {}) });
}

export interface ArchiveJobsProps {
  readonly config: OffsiteConfig;
  /** The stack's functions by catalog id (VerifyArchive and CheckFreshness among them). */
  readonly functions: ReadonlyMap<string, OffsiteFunction>;
  readonly bucket: s3.IBucket;
  /** The archive's KMS key (archive.kms): the verification records are written with it. */
  readonly encryptionKey?: kms.IKey | undefined;
  readonly topic: sns.ITopic;
  /** Start of schedule and alarm names, e.g. "offsite". */
  readonly namePrefix: string;
}

/**
 * The archive's scheduled jobs: the verify (configurable schedule, byte budget per run)
 * and the hourly freshness check, each with one alarm whose state reason the job fills
 * with names. One of each for the whole fleet: nothing here grows with the targets.
 */
export class ArchiveJobs extends Construct {
  readonly staleTargetsAlarm: cloudwatch.Alarm;
  readonly badCopiesAlarm: cloudwatch.Alarm;
  /** Only with archive.secondary: copies the catch-up could not make. */
  readonly catchUpFailedAlarm: cloudwatch.Alarm | undefined;
  readonly schedules: Schedule[] = [];

  constructor(scope: Construct, id: string, props: ArchiveJobsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const action = new SnsAction(props.topic);
    const verify = this.functionOf(props.functions, 'VerifyArchive');
    const freshness = this.functionOf(props.functions, 'CheckFreshness');

    this.staleTargetsAlarm = new cloudwatch.Alarm(this, 'StaleTargets', {
      alarmName: `${props.namePrefix}-stale-targets`,
      alarmDescription:
        'One or more scheduled targets have no fresh verified copy: the newest is older than one schedule interval plus the poll budget plus one hour (or than freshnessHours), or there is none. ' +
        'With archive.secondary, a target is behind when either place is. ' +
        'The state reason names them (and which place is behind). First: `offsite status` (each target, its newest copy and next run). Then for each: Step Functions console → the backup state machine → Executions (failed? none at all = the schedule did not fire: EventBridge Scheduler → Schedules). ' +
        'No data for an hour also alarms: the freshness check itself did not run (CheckFreshness function logs). Clears by itself once every scheduled target has a fresh copy.',
      metric: jobMetric('freshness', 'StaleTargets', 'Maximum', Duration.hours(1)),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.badCopiesAlarm = new cloudwatch.Alarm(this, 'BadCopies', {
      alarmName: `${props.namePrefix}-bad-copies`,
      alarmDescription:
        'The scheduled verify found archived copies that differ from their manifest (size or SHA-256) or are missing; the state reason names them by object key (and, with archive.secondary, the place: primary or secondary). ' +
        'First: `offsite verify <target>` to confirm, then S3 console → that place\'s bucket → the object → Versions (a previous version may still hold the good bytes); the other place may hold a good copy. ' +
        'A bad copy no longer counts as verified: `offsite status` shows what the target falls back to. Clears when the next verify finds nothing bad.',
      metric: jobMetric('verify', 'VerifyBadCopies', 'Sum', Duration.days(1)),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.staleTargetsAlarm, this.badCopiesAlarm]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }

    const alarmArn = (name: string): string => stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    freshness.function.addEnvironment(FRESHNESS_ALARM_ENV, `${props.namePrefix}-stale-targets`);
    freshness.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:SetAlarmState'], resources: [alarmArn(`${props.namePrefix}-stale-targets`)] }));
    verify.function.addEnvironment(VERIFY_ALARM_ENV, `${props.namePrefix}-bad-copies`);
    verify.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:SetAlarmState'], resources: [alarmArn(`${props.namePrefix}-bad-copies`)] }));
    // The verification records, and nothing else: verify never writes a copy or a manifest.
    const records = `${props.config.archive.prefix}_offsite/verification/*`;
    verify.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [props.bucket.arnForObjects(records)] }));
    Validations.of(verify.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(props.bucket.node.defaultChild as CfnElement)}.Arn>/${records}]`,
      reason: 'PutObject on the per-target verification record documents only (one per target, named at run time); no write to copies or manifests, no delete.',
    });
    grantArchiveKey(verify, props.encryptionKey, KMS_DOCUMENT_ACTIONS, props.config.archive.region);
    // The secondary keeps its own records (under its own prefix) when verify reads it there.
    const secondary = secondaryOnRoles(props.config);
    if (secondary && (verify.spec.secondary ?? 'none') !== 'none') {
      const secondaryRecords = '_offsite/verification/*';
      verify.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [secondaryObjectsArn(stack, secondary, secondaryRecords)] }));
      Validations.of(verify.role).acknowledge({
        id: secondaryObjectsNagId(secondary, secondaryRecords),
        reason: "PutObject on the secondary archive's per-target verification record documents only (named at run time); no write to copies or manifests, no delete.",
      });
      if (secondary.kmsKeyArn) grantKeyUse(verify, secondary.kmsKeyArn, KMS_DOCUMENT_ACTIONS, secondary.region);
    }

    // One role for both schedules, allowed to invoke these two functions only. The grant
    // covers their versions and aliases too (`:*`): that is how Lambda's grantInvoke writes it.
    const role = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'offsite: lets EventBridge Scheduler start the archive verify and freshness jobs',
    });
    for (const fn of [verify, freshness]) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.function.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'Invoking this one job function (its versions and aliases included, as grantInvoke writes it); nothing else.',
      });
    }
    const timeZone = TimeZone.of(props.config.timezone);
    const settings = verifySettings(props.config.archive);
    for (const [name, fn, expression] of [
      ['verify', verify, settings.schedule],
      ['freshness', freshness, FRESHNESS_SCHEDULE],
    ] as const) {
      this.schedules.push(
        new Schedule(this, `Schedule-${name}`, {
          scheduleName: `${props.namePrefix}-${name}`.slice(0, 64),
          description: `offsite: archive ${name} job on ${expression} in ${props.config.timezone}`,
          schedule: ScheduleExpression.expression(expression, timeZone),
          target: new LambdaInvoke(fn.function, { role, input: ScheduleTargetInput.fromObject({ job: name }) }),
        }),
      );
    }
    this.catchUpFailedAlarm = props.config.archive.secondary ? this.secondaryCatchUp(props, role, action, alarmArn, timeZone) : undefined;
  }

  /**
   * The secondary's catch-up: on the verify's schedule (it is bounded by the same byte
   * budget), copying what the secondary lacks; its alarm's state reason names the copies it
   * could not make.
   */
  private secondaryCatchUp(props: ArchiveJobsProps, role: iam.Role, action: SnsAction, alarmArn: (name: string) => string, timeZone: TimeZone): cloudwatch.Alarm {
    const stack = Stack.of(this);
    const catchUp = this.functionOf(props.functions, 'CatchUpSecondary');
    const alarmName = `${props.namePrefix}-secondary-catch-up-failed`;
    const alarm = new cloudwatch.Alarm(this, 'SecondaryCatchUpFailed', {
      alarmName,
      alarmDescription:
        'The catch-up could not copy archived copies to the secondary archive (a copy that differs from its manifest, a primary copy missing, the secondary refusing writes); the state reason names them by object key. ' +
        'Those copies are off-site once only. First: `offsite verify <target>` (is the primary copy good?), then the CatchUpSecondary function logs (the error per copy) and the secondary bucket\'s permissions and Object Lock settings. ' +
        'Clears when a catch-up finds nothing it cannot copy.',
      metric: jobMetric('secondary-catch-up', 'SecondaryCopiesFailed', 'Sum', Duration.days(1)),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    catchUp.function.addEnvironment(SECONDARY_CATCH_UP_ALARM_ENV, alarmName);
    catchUp.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:SetAlarmState'], resources: [alarmArn(alarmName)] }));
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(catchUp.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'Invoking this one job function (its versions and aliases included, as grantInvoke writes it); nothing else.',
    });
    const expression = verifySettings(props.config.archive).schedule;
    this.schedules.push(
      new Schedule(this, 'Schedule-secondary-catch-up', {
        scheduleName: `${props.namePrefix}-secondary-catch-up`.slice(0, 64),
        description: `offsite: copies what the secondary archive lacks, on ${expression} in ${props.config.timezone}`,
        schedule: ScheduleExpression.expression(expression, timeZone),
        target: new LambdaInvoke(catchUp.function, { role, input: ScheduleTargetInput.fromObject({ job: 'secondary-catch-up' }) }),
      }),
    );
    return alarm;
  }

  private functionOf(functions: ReadonlyMap<string, OffsiteFunction>, id: string): OffsiteFunction {
    const fn = functions.get(id);
    if (!fn) throw new Error(`ArchiveJobs: no function ${id} in the catalog (functions/archive/jobs.ts)`);
    return fn;
  }
}
