import { Duration } from "aws-cdk-lib";
import { Metric, type MetricOptions, Stats } from "aws-cdk-lib/aws-cloudwatch";

/**
 * CloudWatch metric identities the broker and worker emit through Powertools Metrics (EMF). Powertools adds
 * the default dimension `service` = POWERTOOLS_SERVICE_NAME to every metric.
 */
export const METRICS_NAMESPACE = "tokenstream";
export const SERVICE_DIMENSION = "service";
export const BROKER_SERVICE_NAME = "tokenstream-broker";
export const WORKER_SERVICE_NAME = "tokenstream-worker";

export type BrokerMetricName = "MintFailures" | "Mints" | "Handouts" | "Refusals";
export type WorkerMetricName =
  | "EventsIn"
  | "EventsOut"
  | "DuplicatesDropped"
  | "LiveSessions"
  | "Rotations"
  | "Gaps"
  | "GapMs"
  | "TokenRefreshes"
  | "SinkLatencyMs"
  | "BufferDepth"
  | "MalformedFrames"
  | "DeadLettered";

/** A broker metric, as emitted by the Lambda. */
export function brokerMetric(metricName: BrokerMetricName, options: MetricOptions = {}): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [SERVICE_DIMENSION]: BROKER_SERVICE_NAME },
    statistic: Stats.SUM,
    period: Duration.minutes(5),
    ...options,
  });
}

/** A worker metric, as emitted by the Fargate tasks. */
export function workerMetric(metricName: WorkerMetricName, options: MetricOptions = {}): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [SERVICE_DIMENSION]: WORKER_SERVICE_NAME },
    statistic: Stats.SUM,
    period: Duration.minutes(1),
    ...options,
  });
}
