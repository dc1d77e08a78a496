/**
 * Composition root of the worker, usable in-process (`npm start`, benchmarks, tests) and by main.ts:
 * token source + session factory + supervisor + SQS sink + telemetry + /healthz.
 */
import type { LogAttributes } from "@aws-lambda-powertools/logger/types";
import { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { WorkerConfig } from "./config.ts";
import type { EventSink } from "./core/event-sink.ts";
import { Durability } from "./durability.ts";
import { type HealthServer, startHealthServer } from "./health.ts";
import { DEFAULT_INFLIGHT_MAX, DEFAULT_INFLIGHT_MIN } from "./sink/inflight-controller.ts";
import { sinkSqsClient } from "./sink/sqs-client.ts";
import { SqsSink, type SqsSinkOptions } from "./sink/sqs-sink.ts";
import type { SessionFactory } from "./source/session.ts";
import { createSessionFactory } from "./source/session-factory.ts";
import { type AlarmMetricName, createAlarmMetric, isAlarmMetric } from "./supervisor/alarm-metric.ts";
import type { WorkerStats } from "./supervisor/stats.ts";
import {
  Supervisor,
  type SupervisorLog,
  type SupervisorMetrics,
  type SupervisorOptions,
} from "./supervisor/supervisor.ts";
import { createWorkerTelemetry, type WorkerTelemetry } from "./telemetry.ts";
import { BrokerTokenSource } from "./token/broker-token-source.ts";
import { DirectTokenSource } from "./token/direct-token-source.ts";
import type { TokenSource } from "./token/token-source.ts";

export type { WorkerStats } from "./supervisor/stats.ts";

/** The sink counts as stuck (task replaced) when its pump has not run for this long with work waiting. */
export const SINK_STUCK_MS = 60_000;

export interface WorkerDeps {
  tokenSource?: TokenSource;
  sink?: EventSink;
  sqs?: SQSClient;
  s3?: S3Client;
  sessions?: SessionFactory;
  telemetry?: WorkerTelemetry;
  /** Publishes an alarm metric at once (default: its own Powertools EMF record). */
  alarmMetric?: (name: AlarmMetricName) => void;
  /** Default true: serve /healthz on config.healthPort. */
  health?: boolean;
  /** SQS sink tuning beyond what the environment configures (tests, benchmarks). */
  sinkOptions?: Partial<Omit<SqsSinkOptions, "sqs" | "queueUrl" | "spoolDir">>;
  /** Supervisor tuning beyond what the environment configures (tests, benchmarks). */
  tuning?: Partial<Omit<SupervisorOptions, "redundancy" | "topics">>;
}

/** The durable backlog and coverage ledger, when configured (and the sink is the worker's own). */
function createDurability(
  config: WorkerConfig,
  deps: WorkerDeps,
  log: SupervisorLog,
  telemetry: WorkerTelemetry,
): Durability | undefined {
  if (!config.durability || deps.sink) return undefined;
  return new Durability({
    config: config.durability,
    topics: config.topics,
    spoolDir: config.spoolDir,
    region: config.region,
    log: { debug: () => {}, ...log },
    metrics: telemetry,
  });
}

export interface StopResult {
  drained: boolean;
  /** Messages still undelivered at the deadline (they stay in the spool for the next start). */
  remaining: number;
}

export interface RunningWorker {
  stats(): WorkerStats;
  /** Port of /healthz, when served. */
  readonly healthPort: number | undefined;
  /** Stop rotating, close sockets, drain the sink until `deadlineMs` (default now + shutdownTimeoutMs). */
  stop(deadlineMs?: number): Promise<StopResult>;
}

/** Powertools Logger behind the small logging interface the supervisor and sink take. */
function structuredLog(telemetry: WorkerTelemetry): SupervisorLog & {
  debug(message: string, extra?: Record<string, unknown>): void;
} {
  const l = telemetry.logger;
  const attrs = (extra?: Record<string, unknown>) => (extra ?? {}) as LogAttributes;
  return {
    debug: (m, e) => l.debug(m, attrs(e)),
    info: (m, e) => l.info(m, attrs(e)),
    warn: (m, e) => l.warn(m, attrs(e)),
    error: (m, e) => l.error(m, attrs(e)),
  };
}

/** Supervisor metrics: interval-aggregated telemetry, except alarms, which are published at once. */
export function supervisorMetrics(
  telemetry: WorkerTelemetry,
  alarm: (name: AlarmMetricName) => void,
): SupervisorMetrics {
  return {
    count: (name, n) => (isAlarmMetric(name) ? alarm(name) : telemetry.count(name, n)),
    gauge: (name, value) => telemetry.gauge(name, value),
  };
}

export function createTokenSource(config: WorkerConfig): TokenSource {
  const ts = config.tokenSource;
  if (ts.kind === "broker") {
    return new BrokerTokenSource({ brokerUrl: ts.brokerUrl, profile: ts.profile, region: config.region });
  }
  if (!config.loginUrl) throw new Error("TOKEN_SOURCE=direct needs a login URL");
  return new DirectTokenSource({
    loginUrl: config.loginUrl,
    clientId: ts.clientId,
    clientSecret: ts.clientSecret,
  });
}

export function createSessions(config: WorkerConfig): SessionFactory {
  return createSessionFactory({
    source:
      config.sourceKind === "genesys"
        ? { kind: "genesys", apiUrl: config.apiUrl ?? "" }
        : {
            kind: "generic",
            streamUrl: config.genericStreamUrl ?? "",
            tokenPlacement: config.genericTokenPlacement,
          },
    topics: config.topics,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    probeIntervalMs: config.probeIntervalMs,
    refusedTopicRetryMs: config.refusedTopicRetryMs,
    maxFrameBytes: config.maxFrameBytes,
  });
}

export async function startWorker(config: WorkerConfig, deps: WorkerDeps = {}): Promise<RunningWorker> {
  const telemetry =
    deps.telemetry ??
    createWorkerTelemetry({ logLevel: config.logLevel, dimensions: { sourceKind: config.sourceKind } });
  const log = structuredLog(telemetry);
  telemetry.start(config.metricsIntervalMs);
  const clientConfig = {
    region: config.region,
    ...(config.awsEndpointUrl ? { endpoint: config.awsEndpointUrl } : {}),
  };
  const durability = createDurability(config, deps, log, telemetry);
  const inFlight = config.sinkInFlight ?? { min: DEFAULT_INFLIGHT_MIN, max: DEFAULT_INFLIGHT_MAX };
  const sqsSink = deps.sink
    ? undefined
    : new SqsSink({
        sqs: deps.sqs ?? sinkSqsClient(clientConfig, inFlight.max),
        queueUrl: config.queueUrl,
        spoolDir: config.spoolDir,
        inFlight,
        ...durability?.sinkOptions(),
        ...(config.offloadBucket
          ? {
              offloadBucket: config.offloadBucket,
              s3: deps.s3 ?? new S3Client({ ...clientConfig, forcePathStyle: !!config.awsEndpointUrl }),
            }
          : {}),
        ...(config.deadLetterQueueUrl ? { deadLetterQueueUrl: config.deadLetterQueueUrl } : {}),
        metrics: telemetry,
        logger: log,
        ...deps.sinkOptions,
      });
  const sink: EventSink = deps.sink ?? sqsSink!;
  const sessions = deps.sessions ?? createSessions(config);
  const supervisor = new Supervisor(
    {
      redundancy: config.redundancy,
      topics: config.topics,
      minSessionLifeMs: config.minSessionLifeMs,
      backoff: { baseMs: config.backoffBaseMs, capMs: config.backoffCapMs },
      lagBoundMs: config.lagBoundMs,
      propagationMs: config.propagationMs,
      drainMs: config.drainMs,
      failures: config.failures,
      ...deps.tuning,
    },
    {
      tokenSource: deps.tokenSource ?? createTokenSource(config),
      sessions: durability ? durability.observe(sessions) : sessions,
      sink: durability ? durability.supervisorSink(sink) : sink,
      log,
      metrics: supervisorMetrics(
        telemetry,
        deps.alarmMetric ?? createAlarmMetric({ sourceKind: config.sourceKind }),
      ),
    },
  );
  const stats = (): WorkerStats => {
    const base = supervisor.stats();
    if (!(sink instanceof SqsSink)) return base;
    const backlog = sink.spoolBacklog();
    return {
      ...base,
      backlogMessages: backlog.messages,
      backlogAgeMs: backlog.oldestAgeMs,
      sinkInFlightLimit: sink.inFlightLimit(),
      undurableMs: Math.max(0, Date.now() - sink.durableThroughMs()),
    };
  };
  let health: HealthServer | undefined;
  const startedAtMs = Date.now();
  let coveredOnce = false;
  // Liveness for the container health check; until the first coverage (or the start-up grace) a new task
  // is not healthy, so ECS keeps the old one until the new one covers (make-before-break deployments).
  const alive = (): boolean => {
    if (supervisor.liveSessions() >= 1) coveredOnce = true;
    const startedUp = coveredOnce || Date.now() - startedAtMs >= (config.startupGraceMs ?? 0);
    return startedUp && (sqsSink?.alive(SINK_STUCK_MS) ?? true);
  };
  if (deps.health ?? true) health = await startHealthServer({ port: config.healthPort, stats, alive });
  const depthTimer = setInterval(() => telemetry.gauge("BufferDepth", sink.depth()), 1_000);
  depthTimer.unref();
  log.info("worker starting", {
    sourceKind: config.sourceKind,
    redundancy: config.redundancy,
    topics: config.topics.length,
    tokenSource: config.tokenSource.kind,
    sinkInFlight: inFlight,
  });
  if (durability && sqsSink) await durability.start(sqsSink);
  supervisor.start();

  let stopping: Promise<StopResult> | undefined;
  return {
    stats,
    healthPort: health?.port,
    stop(deadlineMs = Date.now() + config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        log.info("worker stopping", { bufferDepth: sink.depth() });
        supervisor.stop();
        clearInterval(depthTimer);
        const result = await sink.drain(deadlineMs);
        await sink.close();
        await durability?.stop();
        await health?.close();
        log.info("worker stopped", { ...result, ...supervisor.stats() });
        telemetry.stop();
        return result;
      })();
      return stopping;
    },
  };
}
