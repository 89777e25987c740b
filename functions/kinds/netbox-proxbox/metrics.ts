// The audit's CloudWatch metrics, as embedded-metric-format log lines (Powertools Metrics).
// Namespace "offsite", dimension Target (and Severity for findings): the coverage-gap
// alarm and the dashboard graph exactly these names.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SEVERITIES } from './coverage';
import type { AuditSummary } from './audit';
import { AUDIT_GROUP_DIMENSION, AUDIT_METRICS, AUDIT_METRICS_NAMESPACE } from './metric-names';

export { AUDIT_GROUP_DIMENSION, AUDIT_METRICS, AUDIT_METRICS_NAMESPACE };

/**
 * A metrics set with exactly the dimensions given. Powertools adds a `service` dimension
 * by default; a metric's identity is all its dimensions, so it would not match the
 * alarm's and dashboard's {Target} (and {Target, Severity}).
 */
function metricsWith(dimensions: Record<string, string>): Metrics {
  const metrics = new Metrics({ namespace: AUDIT_METRICS_NAMESPACE });
  metrics.clearDefaultDimensions();
  for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
  return metrics;
}

/**
 * Publishes one audit's figures; every severity is published, 0 included, so graphs and
 * alarms see a value each run. Only inside Lambda (as functions/runtime/metrics.ts): on
 * the command line the lines would land on stdout, where `--json` promises one document.
 * Unlike the copy metrics these carry the target's name (the dashboard graphs each); the
 * uncovered count is published once more under the target's audit group, whose alarm
 * watches it.
 */
export function publishAuditMetrics(summary: AuditSummary, group: string, env: NodeJS.ProcessEnv = process.env): { readonly published: readonly string[] } {
  if (!env.AWS_LAMBDA_FUNCTION_NAME) return { published: [] };
  const perTarget = metricsWith({ Target: summary.target });
  perTarget.addMetric(AUDIT_METRICS.inScope, MetricUnit.Count, summary.virtualMachines);
  perTarget.addMetric(AUDIT_METRICS.uncovered, MetricUnit.Count, summary.uncovered);
  perTarget.publishStoredMetrics();
  const perGroup = metricsWith({ [AUDIT_GROUP_DIMENSION]: group });
  perGroup.addMetric(AUDIT_METRICS.uncovered, MetricUnit.Count, summary.uncovered);
  perGroup.publishStoredMetrics();
  for (const severity of SEVERITIES) {
    const bySeverity = metricsWith({ Target: summary.target, Severity: severity });
    bySeverity.addMetric(AUDIT_METRICS.findings, MetricUnit.Count, summary.findings[severity]);
    bySeverity.publishStoredMetrics();
  }
  return { published: [AUDIT_METRICS.inScope, AUDIT_METRICS.uncovered, `${AUDIT_METRICS.uncovered}{${AUDIT_GROUP_DIMENSION}=${group}}`, ...SEVERITIES.map((severity) => `${AUDIT_METRICS.findings}{Severity=${severity}}`)] };
}
