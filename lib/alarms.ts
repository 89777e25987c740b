import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { LifecyclePurpose } from '../functions/kinds/kind';
import { KINDS, type TargetKind } from '../functions/kinds/registry';

export interface AlarmedLifecycle {
  readonly purpose: LifecyclePurpose;
  /** The kind of target it drives, e.g. "netbox-cloud"; chooses the troubleshooting hints. */
  readonly kind: TargetKind;
  readonly stateMachine: sfn.IStateMachine;
  /** The state machine's name, as shown in the Step Functions console. */
  readonly stateMachineName: string;
  /** The groups an audit lifecycle reports on (its targets by schedule expression): each gets one coverage-gap alarm. */
  readonly auditGroups?: readonly AuditGroup[];
}

export interface AuditGroup {
  /** scheduleGroupTag of the expression (functions/fleet/groups.ts): the AuditGroup dimension the audits publish. */
  readonly tag: string;
  /** The schedule expression; undefined for the targets audited by hand only. */
  readonly expression?: string;
  readonly targets: readonly string[];
}

export interface LifecycleAlarmsProps {
  readonly lifecycles: readonly AlarmedLifecycle[];
  /** Subscribed to the topic by e-mail when set (the address must confirm the subscription). */
  readonly alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/** "a netbox-cloud target", "an appliance target". */
function aTarget(kind: TargetKind): string {
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} target`;
}

/**
 * The alarm topic and the alarms on every lifecycle state machine: any failed, timed out
 * (or, for restores, aborted) execution. Whether each scheduled target has a fresh copy is
 * the freshness check's alarm (lib/archive-jobs.ts), one for the whole fleet.
 */
export class LifecycleAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: LifecycleAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // A key of our own: CloudWatch cannot publish to a topic encrypted with the
    // AWS-managed alias/aws/sns key (its key policy cannot grant CloudWatch).
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: `offsite alarm topic encryption (${stack.stackName})`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `offsite alarms (${stack.stackName})`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.topic);

    for (const lifecycle of props.lifecycles) {
      if (lifecycle.purpose === 'restore') this.addRestoreAlarms(lifecycle);
      else if (lifecycle.purpose === 'audit') this.addAuditAlarms(lifecycle);
      else this.addBackupAlarms(lifecycle);
    }
  }

  private addRestoreAlarms(lifecycle: AlarmedLifecycle): void {
    const { stateMachine: machine, stateMachineName: name, kind } = lifecycle;
    const hints = KINDS[kind].alarmHints;
    const open = `Step Functions console → State machines → ${name} → Executions`;
    this.eventAlarm(lifecycle, 'Failed', machine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
      `A RESTORE of ${aTarget(kind)} failed in the last 5 minutes: the target system may be unchanged or only partly restored. ` +
        `First: ${open}, filter Failed, open the execution and read the Error/Cause of the last state ${hints.restoreFailed ?? ''} ` +
        'Then check the target system itself before starting another restore.');
    this.eventAlarm(lifecycle, 'TimedOut', machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
      `A RESTORE of ${aTarget(kind)} hit the state machine's hard time limit and was stopped by Step Functions. ` +
        `${hints.restoreStillRunning ?? ''} first, ` +
        `then ${open} (filter Timed out) to see which step it was waiting in. Do not start another restore while one may still run.`);
    this.eventAlarm(lifecycle, 'Aborted', machine.metricAborted({ period: FIVE_MINUTES, statistic: 'Sum' }),
      `Someone stopped (aborted) a RESTORE of ${aTarget(kind)} while it ran. A restore already started on the vendor side keeps running. ` +
        `${hints.restoreStillRunning ?? ''}, then ${open} (filter Aborted) for the step it was in; ` +
        'CloudTrail (StopExecution) shows who stopped it.');
  }

  private addBackupAlarms(lifecycle: AlarmedLifecycle): void {
    const { stateMachine: machine, stateMachineName: name, kind } = lifecycle;
    const hints = KINDS[kind].alarmHints;
    const open = `Step Functions console → State machines → ${name} → Executions`;
    this.eventAlarm(lifecycle, 'Failed', machine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
      `A BACKUP of ${aTarget(kind)} failed in the last 5 minutes: no new verified copy was archived for that target. ` +
        `First: ${open}, filter Failed, open the execution: its input names the target, the last state's Error/Cause says which step failed ${hints.backupFailed ?? ''} ` +
        'The failed Task links to its Lambda logs. After fixing, start a new execution with the same input.');
    this.eventAlarm(lifecycle, 'TimedOut', machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
      `A BACKUP of ${aTarget(kind)} hit the state machine's hard time limit: no new copy was archived. ` +
        `${open}, filter Timed out: the last state shows what it was waiting for, ${hints.backupTimedOut ?? ''}, then start a new execution with the same input.`);
  }

  private addAuditAlarms(lifecycle: AlarmedLifecycle): void {
    const { stateMachine: machine, stateMachineName: name, kind } = lifecycle;
    const hints = KINDS[kind].alarmHints.audit;
    const open = `Step Functions console → State machines → ${name} → Executions`;
    this.eventAlarm(lifecycle, 'Failed', machine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
      `The coverage AUDIT of ${aTarget(kind)} failed in the last 5 minutes: no new report was written, so gaps in backup cover go unseen. ` +
        `First: ${open}, filter Failed, open the execution: its input names the target, the last state's Error/Cause says which NetBox list could not be read ${hints?.auditFailed ?? ''} ` +
        'The failed Task links to its Lambda logs. After fixing, start a new execution with the same input (or run `offsite audit <target>`).');
    this.eventAlarm(lifecycle, 'TimedOut', machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
      `The coverage AUDIT of ${aTarget(kind)} hit the state machine's hard time limit: no report was written. ` +
        `${open}, filter Timed out: the last state shows which NetBox list it was reading; a NetBox that answers very slowly (or a huge page count) is the usual cause.`);
    // A kind's audit names the metrics it publishes (its definition's alarm hints).
    const metrics = hints?.metrics;
    if (!metrics) throw new Error(`the ${kind} definition gives no audit metrics (alarmHints.audit.metrics): its coverage-gap alarms cannot be made`);
    for (const group of lifecycle.auditGroups ?? []) {
      const which = group.expression === undefined ? 'audited by hand (no schedule)' : `audited on ${group.expression}`;
      const alarm = new cloudwatch.Alarm(this, `${this.idFor(lifecycle)}CoverageGap${group.tag.replace(/(^|-)([a-z0-9])/g, (_m, _sep: string, ch: string) => ch.toUpperCase())}`, {
        alarmName: `${name}-coverage-gap-${group.tag}`,
        alarmDescription: this.fit(
          `COVERAGE GAP: an audit of the ${group.targets.length} ${kind} target(s) ${which} found VMs in scope without a working backup routine (${metrics.uncovered} > 0 today): ` +
            'those VMs would be lost today. `offsite status` or the Step Functions executions of ' + name + ' show which target; ' +
            `${hints?.coverageGap ?? 'Open the newest audit report'}. Clears with the group's first audit of a later UTC day that finds every VM covered; a failed audit raises its own alarm.`,
        ),
        // The largest uncovered count any audit of the group published in the UTC day: a
        // group's audits run together, so one day holds every target's latest verdict.
        metric: new cloudwatch.Metric({
          namespace: metrics.namespace,
          metricName: metrics.uncovered,
          dimensionsMap: { [metrics.groupDimension]: group.tag },
          statistic: 'Maximum',
          period: Duration.days(1),
        }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // Audits run once a schedule interval: between them the last verdict stands.
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      });
      alarm.addAlarmAction(this.action);
      alarm.addOkAction(this.action);
      this.alarms.push(alarm);
    }
  }

  private eventAlarm(lifecycle: AlarmedLifecycle, what: 'Failed' | 'TimedOut' | 'Aborted', metric: cloudwatch.Metric, description: string): void {
    const alarm = new cloudwatch.Alarm(this, `${this.idFor(lifecycle)}${what}`, {
      alarmName: `${lifecycle.stateMachineName}-${what.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`,
      alarmDescription: this.fit(description),
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
  }

  private idFor(lifecycle: AlarmedLifecycle): string {
    return lifecycle.stateMachineName.replace(/(^|[^A-Za-z0-9])([a-z0-9])/g, (_m, _sep: string, ch: string) => ch.toUpperCase());
  }

  /** CloudWatch accepts at most 1024 characters of alarm description. */
  private fit(text: string): string {
    if (text.length > 1024) throw new Error(`Alarm description too long (${text.length} > 1024): ${text.slice(0, 80)}…`);
    return text;
  }
}
