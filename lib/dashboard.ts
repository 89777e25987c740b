import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { AuditMetricNames } from '../functions/kinds/kind';
import { jobMetric } from './archive-jobs';

export interface DashboardLifecycle {
  readonly stateMachine: sfn.IStateMachine;
  readonly stateMachineName: string;
}

export interface AuditedKind {
  readonly kind: string;
  readonly metrics: AuditMetricNames;
  readonly targets: readonly string[];
}

export interface OffsiteDashboardProps {
  readonly lifecycles: readonly DashboardLifecycle[];
  /** Kinds whose copies stream into the archive: CopyBytes and CopyThroughput carry `Kind`. */
  readonly copyKinds: readonly string[];
  /** Each kind with an audit lifecycle: the metrics its audit publishes (dimension Target) and its configured targets. */
  readonly audits: readonly AuditedKind[];
  /** The restore drill machines (lib/drills.ts); none when no target has a drill. */
  readonly drills?: readonly DashboardLifecycle[];
  /** The archive's places (primary, and secondary when configured): with two, the verify's bad copies are graphed per place. */
  readonly places?: readonly string[];
  readonly dashboardName: string;
}

const HOUR = Duration.hours(1);
const DAY = Duration.days(1);

function offsiteMetric(metricName: string, dimensionsMap: Record<string, string>, statistic: string, period: Duration, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: 'offsite', metricName, dimensionsMap, statistic, period, ...(label ? { label } : {}) });
}

/**
 * One CloudWatch dashboard for the stack: executions and failures per lifecycle, what the
 * copies moved and how fast, stale targets, verify results, restore drills (failed and
 * passed per drill machine, overdue drills) and coverage gaps. A dashboard
 * costs the same whatever it shows; the per-target audit widgets read metrics issue 10's
 * audit already publishes.
 */
export class OffsiteDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OffsiteDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(7),
    });

    const started = props.lifecycles.map((lifecycle) => lifecycle.stateMachine.metricStarted({ period: HOUR, statistic: 'Sum', label: lifecycle.stateMachineName }));
    const failed = props.lifecycles.flatMap((lifecycle) => [
      lifecycle.stateMachine.metricFailed({ period: HOUR, statistic: 'Sum', label: `${lifecycle.stateMachineName} failed` }),
      lifecycle.stateMachine.metricTimedOut({ period: HOUR, statistic: 'Sum', label: `${lifecycle.stateMachineName} timed out` }),
    ]);
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# offsite (${Stack.of(this).stackName})\nPer target: \`offsite status\`. Stale targets and bad copies are named in their alarms' state reason.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Executions per lifecycle', left: started, width: 12, stacked: true }),
      new cloudwatch.GraphWidget({ title: 'Failures per lifecycle (failed, timed out)', left: failed, width: 12, stacked: true }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Bytes copied into the archive',
        left: props.copyKinds.map((kind) => offsiteMetric('CopyBytes', { Kind: kind }, 'Sum', DAY, kind)),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Copy throughput (bytes/s)',
        left: props.copyKinds.map((kind) => offsiteMetric('CopyThroughput', { Kind: kind }, 'Average', DAY, kind)),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({ title: 'Stale targets (now)', metrics: [jobMetric('freshness', 'StaleTargets', 'Maximum', HOUR)], width: 6 }),
      new cloudwatch.GraphWidget({ title: 'Stale targets', left: [jobMetric('freshness', 'StaleTargets', 'Maximum', HOUR)], width: 6 }),
      new cloudwatch.GraphWidget({
        title: 'Verify results',
        left: [jobMetric('verify', 'VerifiedCopies', 'Sum', DAY), jobMetric('verify', 'VerifyBadCopies', 'Sum', DAY)],
        right: [jobMetric('verify', 'VerifiedBytes', 'Sum', DAY)],
        width: 12,
      }),
    );
    // With a secondary, which place the bad copies are in (the verify publishes the count per Place then).
    const places = props.places ?? [];
    if (places.length > 1) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({ title: 'Bad copies found by the verify, per place', left: places.map((place) => jobMetric('verify', 'VerifyBadCopies', 'Sum', DAY, place)), width: 24 }),
      );
    }
    const drills = props.drills ?? [];
    // OverdueDrills is the hourly freshness check's count: scheduled drills with no pass within their schedule (names in the alarm's reason).
    const overdue = jobMetric('freshness', 'OverdueDrills', 'Maximum', HOUR);
    this.dashboard.addWidgets(
      ...(drills.length === 0
        ? [new cloudwatch.TextWidget({ markdown: '## Restore drills\nNo target has a drill configured.', width: 24, height: 2 })]
        : [
            new cloudwatch.GraphWidget({
              title: 'Restore drills: failed and passed per drill machine',
              left: drills.map((drill) => drill.stateMachine.metricFailed({ period: DAY, statistic: 'Sum', label: `${drill.stateMachineName} failed` })),
              right: drills.map((drill) => drill.stateMachine.metricSucceeded({ period: DAY, statistic: 'Sum', label: `${drill.stateMachineName} passed` })),
              width: 12,
            }),
            new cloudwatch.SingleValueWidget({ title: 'Restore drills overdue (now)', metrics: [overdue], width: 6 }),
            new cloudwatch.GraphWidget({ title: 'Restore drills overdue', left: [overdue], width: 6 }),
          ]),
    );
    const audited = props.audits.filter((audit) => audit.targets.length > 0);
    // Labelled by kind only when more than one kind audits.
    const label = (audit: AuditedKind, what: string): string => (audited.length > 1 ? `${audit.kind} ${what}` : what);
    this.dashboard.addWidgets(
      audited.length === 0
        ? new cloudwatch.TextWidget({ markdown: `## Coverage gaps\nNo audited targets configured (${props.audits.map((audit) => audit.kind).join(', ')}).`, width: 24, height: 2 })
        : new cloudwatch.GraphWidget({
            title: 'Coverage gaps (uncovered VMs, findings) per audited target',
            // One search each, not a metric per target: the dashboard stays the same size however many targets are audited.
            left: audited.map(
              (audit) =>
                new cloudwatch.MathExpression({ expression: `SEARCH('{${audit.metrics.namespace},Target} MetricName="${audit.metrics.uncovered}"', 'Maximum', 86400)`, label: label(audit, 'uncovered'), period: DAY }),
            ),
            // Findings are published per Severity too: summed over whichever severities exist.
            right: audited.map(
              (audit) =>
                new cloudwatch.MathExpression({ expression: `SEARCH('{${audit.metrics.namespace},Severity,Target} MetricName="${audit.metrics.findings}"', 'Maximum', 86400)`, label: label(audit, 'findings'), period: DAY }),
            ),
            width: 24,
          }),
    );
  }
}
