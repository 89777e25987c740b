import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export { MetricUnit };

/** Namespace of every custom metric offsite publishes (the dashboard and alarms read it). */
export const METRICS_NAMESPACE = 'offsite';

export interface MetricValue {
  readonly name: string;
  readonly unit: (typeof MetricUnit)[keyof typeof MetricUnit];
  readonly value: number;
}

/**
 * Publishes metrics in CloudWatch's embedded metric format (a log line the Lambda
 * service turns into metrics). Only inside Lambda: on the command line the line would
 * land on stdout, where `--json` promises one JSON document and nothing else.
 * Dimensions are kinds or job names, never target names: the metric count must not grow
 * with the fleet.
 */
export function publishMetrics(dimensions: Readonly<Record<string, string>>, values: readonly MetricValue[], env: NodeJS.ProcessEnv = process.env): void {
  if (!env.AWS_LAMBDA_FUNCTION_NAME || values.length === 0) return;
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'offsite' });
  // Exactly these dimensions: Powertools' default `service` dimension would be part of the
  // metric's identity, and the alarms and the dashboard name {Kind} or {Job} alone.
  metrics.clearDefaultDimensions();
  metrics.addDimensions({ ...dimensions });
  for (const { name, unit, value } of values) metrics.addMetric(name, unit, value);
  metrics.publishStoredMetrics();
}
