/**
 * Alarm metrics (a slot stopped after a permanent failure, the broker refusing the worker, channels evicted
 * again and again) published as their own EMF record the moment they happen, instead of waiting for the
 * next telemetry interval: an operator alarm must not lag by a minute.
 * Same namespace and service as the worker's other metrics; POWERTOOLS_METRICS_DISABLED applies.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../telemetry.ts";

export type AlarmMetricName = "SessionsStopped" | "TokenRefusals" | "ChannelEvictions";

const ALARM_METRICS: ReadonlySet<string> = new Set<AlarmMetricName>([
  "SessionsStopped",
  "TokenRefusals",
  "ChannelEvictions",
]);

export function isAlarmMetric(name: string): name is AlarmMetricName {
  return ALARM_METRICS.has(name);
}

export function createAlarmMetric(dimensions: Record<string, string> = {}): (name: AlarmMetricName) => void {
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: dimensions,
  });
  return (name) => {
    metrics.addMetric(name, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  };
}
