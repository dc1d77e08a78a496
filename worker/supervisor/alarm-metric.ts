/**
 * Alarm metrics (a slot stopped after a permanent failure) published as their own EMF record the moment they
 * happen, instead of waiting for the next telemetry interval: an operator alarm must not lag by a minute.
 * Same namespace and service as the worker's other metrics; POWERTOOLS_METRICS_DISABLED applies.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../telemetry.ts";

export type AlarmMetricName = "SessionsStopped";

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
