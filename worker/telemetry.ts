/**
 * Worker telemetry: one Powertools Logger and one Powertools Metrics (CloudWatch EMF on stdout).
 * The worker is long-running, so metrics are aggregated in memory and published on an interval:
 * counters are summed, gauges keep their last value, timings keep up to MAX_TIMING_SAMPLES samples per
 * interval (reservoir sampling) plus the true maximum as `<name>Max`.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

export const SERVICE_NAME = "tokenstream-worker";
export const METRICS_NAMESPACE = "tokenstream";

export type CounterName =
  | "EventsIn"
  | "EventsOut"
  | "DuplicatesDropped"
  | "Rotations"
  | "Gaps"
  | "GapMs"
  | "TokenRefreshes"
  | "MalformedFrames"
  | "SilentSessions"
  | "PossibleDuplicates"
  | "TopicsRefused"
  | "DeadLettered"
  | "BacklogOverflow"
  | "BacklogAdopted"
  | "CoverageGaps"
  | "CoverageGapMs";
export type GaugeName =
  | "LiveSessions"
  | "BufferDepth"
  | "BacklogBytes"
  | "BacklogAgeMs"
  | "Covering"
  | "UncoveredMs";
export type TimingName = "SinkLatencyMs";
export type MetricName = CounterName | GaugeName | TimingName;

const COUNTER_UNITS: Record<CounterName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  EventsIn: MetricUnit.Count,
  EventsOut: MetricUnit.Count,
  DuplicatesDropped: MetricUnit.Count,
  Rotations: MetricUnit.Count,
  Gaps: MetricUnit.Count,
  GapMs: MetricUnit.Milliseconds,
  TokenRefreshes: MetricUnit.Count,
  MalformedFrames: MetricUnit.Count,
  SilentSessions: MetricUnit.Count,
  PossibleDuplicates: MetricUnit.Count,
  TopicsRefused: MetricUnit.Count,
  DeadLettered: MetricUnit.Count,
  BacklogOverflow: MetricUnit.Count,
  BacklogAdopted: MetricUnit.Count,
  CoverageGaps: MetricUnit.Count,
  CoverageGapMs: MetricUnit.Milliseconds,
};

const GAUGE_UNITS: Record<GaugeName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  LiveSessions: MetricUnit.Count,
  BufferDepth: MetricUnit.Count,
  BacklogBytes: MetricUnit.Bytes,
  BacklogAgeMs: MetricUnit.Milliseconds,
  Covering: MetricUnit.Count,
  UncoveredMs: MetricUnit.Milliseconds,
};

// Powertools publishes on its own once one metric holds 100 values; 99 keeps each flush one EMF record.
export const MAX_TIMING_SAMPLES = 99;

export interface WorkerTelemetry {
  readonly logger: Logger;
  count(name: CounterName, n?: number): void;
  gauge(name: GaugeName, value: number): void;
  timing(name: TimingName, ms: number): void;
  /** Publishes what was recorded since the last flush (nothing is written if nothing was recorded). */
  flush(): void;
  /** Starts periodic flushing; the timer does not keep the process alive. */
  start(intervalMs?: number): void;
  /** Stops the timer and flushes one last time. */
  stop(): void;
}

export interface TelemetryOptions {
  serviceName?: string;
  namespace?: string;
  logLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT" | "CRITICAL";
  /** Default dimensions on every metric (e.g. source kind). */
  dimensions?: Record<string, string>;
  random?: () => number;
}

export function createWorkerTelemetry(opts: TelemetryOptions = {}): WorkerTelemetry {
  const serviceName = opts.serviceName ?? SERVICE_NAME;
  const logger = new Logger({ serviceName, logLevel: opts.logLevel ?? "INFO" });
  const metrics = new Metrics({
    namespace: opts.namespace ?? METRICS_NAMESPACE,
    serviceName,
    defaultDimensions: opts.dimensions,
  });
  const random = opts.random ?? Math.random;
  const counters = new Map<CounterName, number>();
  const gauges = new Map<GaugeName, number>();
  const timings = new Map<TimingName, { samples: number[]; seen: number; max: number }>();
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    let any = false;
    for (const [name, n] of counters) {
      metrics.addMetric(name, COUNTER_UNITS[name], n);
      any = true;
    }
    for (const [name, v] of gauges) {
      metrics.addMetric(name, GAUGE_UNITS[name], v);
      any = true;
    }
    for (const [name, t] of timings) {
      for (const sample of t.samples) metrics.addMetric(name, MetricUnit.Milliseconds, sample);
      metrics.addMetric(`${name}Max`, MetricUnit.Milliseconds, t.max);
      any = true;
    }
    counters.clear();
    timings.clear();
    // Gauges are state, not events: they are re-published every interval until changed.
    if (any) metrics.publishStoredMetrics();
  };

  return {
    logger,
    count(name, n = 1) {
      if (!Number.isFinite(n)) return;
      counters.set(name, (counters.get(name) ?? 0) + n);
    },
    gauge(name, value) {
      if (Number.isFinite(value)) gauges.set(name, value);
    },
    timing(name, ms) {
      if (!Number.isFinite(ms)) return;
      let t = timings.get(name);
      if (!t) {
        t = { samples: [], seen: 0, max: ms };
        timings.set(name, t);
      }
      t.seen++;
      t.max = Math.max(t.max, ms);
      if (t.samples.length < MAX_TIMING_SAMPLES) {
        t.samples.push(ms);
      } else {
        const slot = Math.floor(random() * t.seen);
        if (slot < MAX_TIMING_SAMPLES) t.samples[slot] = ms;
      }
    },
    flush,
    start(intervalMs = 60_000) {
      if (timer) clearInterval(timer);
      timer = setInterval(flush, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      flush();
    },
  };
}
