import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { BrokerLog, BrokerMetricName, BrokerMetrics, LogAttributes } from "../core/ports.ts";

/** Powertools Logger behind the BrokerLog port (JSON lines; callers pass fingerprints, never tokens). */
export function powertoolsLog(serviceName: string): BrokerLog {
  const logger = new Logger({ serviceName });
  const clean = (attributes?: LogAttributes) =>
    Object.fromEntries(Object.entries(attributes ?? {}).filter(([, value]) => value !== undefined));
  return {
    debug: (message, attributes) => logger.debug(message, clean(attributes)),
    info: (message, attributes) => logger.info(message, clean(attributes)),
    warn: (message, attributes) => logger.warn(message, clean(attributes)),
    error: (message, attributes) => logger.error(message, clean(attributes)),
  };
}

/** Powertools Metrics (CloudWatch EMF on stdout) behind the BrokerMetrics port. */
export function powertoolsMetrics(namespace: string, serviceName: string): BrokerMetrics {
  const metrics = new Metrics({ namespace, serviceName });
  let counted = false;
  return {
    count(name: BrokerMetricName, value = 1) {
      metrics.addMetric(name, MetricUnit.Count, value);
      counted = true;
    },
    flush() {
      if (!counted) return;
      counted = false;
      metrics.publishStoredMetrics();
    },
  };
}

/** Counters kept in memory (local server, tests, benchmarks). */
export class CountingMetrics implements BrokerMetrics {
  readonly totals = new Map<BrokerMetricName, number>();
  count(name: BrokerMetricName, value = 1): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + value);
  }
  get(name: BrokerMetricName): number {
    return this.totals.get(name) ?? 0;
  }
  flush(): void {}
}
