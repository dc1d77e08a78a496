import { Duration } from "aws-cdk-lib";
import { Metric, type MetricOptions, Stats } from "aws-cdk-lib/aws-cloudwatch";
import type { BrokerMetricName as BrokerEmittedName } from "../functions/broker/core/ports.ts";
import type { AlarmMetricName as WorkerAlarmName } from "../worker/supervisor/alarm-metric.ts";
import type { TimingName, MetricName as WorkerEmittedName } from "../worker/telemetry.ts";
import type { SourceKind } from "./config.ts";

/**
 * CloudWatch metric identities the broker and worker emit through Powertools Metrics (EMF). A metric is
 * only found under its exact dimension set, so these must match what the runtime publishes:
 * - broker (functions/broker/adapters/powertools.ts): `[service]`, service = POWERTOOLS_SERVICE_NAME;
 * - worker (worker/telemetry.ts, created in worker/app.ts with the default dimension sourceKind):
 *   `[service, sourceKind]`.
 * The metric names are the runtime's own types, so a renamed metric breaks the typecheck here.
 * test/infra/metrics.test.ts captures the EMF the runtime code prints and compares.
 */
export const METRICS_NAMESPACE = "tokenstream";
export const SERVICE_DIMENSION = "service";
export const SOURCE_KIND_DIMENSION = "sourceKind";
export const BROKER_SERVICE_NAME = "tokenstream-broker";
export const WORKER_SERVICE_NAME = "tokenstream-worker";

export type BrokerMetricName = BrokerEmittedName;
/**
 * Interval telemetry (a timing also as `<name>Max`, its true maximum in the interval) plus the alarm metrics the
 * worker publishes the moment they happen.
 */
export type WorkerMetricName = WorkerEmittedName | `${TimingName}Max` | WorkerAlarmName;

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

/** A worker metric, as emitted by the Fargate tasks of the given source kind. */
export function workerMetric(
  metricName: WorkerMetricName,
  sourceKind: SourceKind,
  options: MetricOptions = {},
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [SERVICE_DIMENSION]: WORKER_SERVICE_NAME, [SOURCE_KIND_DIMENSION]: sourceKind },
    statistic: Stats.SUM,
    period: Duration.minutes(1),
    ...options,
  });
}
