/**
 * Worker configuration from the environment (DESIGN.md section 5). Every problem is reported at once;
 * secret values are never echoed (only the names of the variables that are wrong).
 */
import { isAbsolute } from "node:path";
import { DEFAULT_INFLIGHT_MAX, DEFAULT_INFLIGHT_MIN } from "./sink/inflight-controller.ts";
import { MAX_FRAME_BYTES } from "./source/frame.ts";
import type { TokenPlacement } from "./source/generic-session.ts";
import { MAX_CHANNELS_PER_CLIENT, MAX_TOPICS_PER_CHANNEL } from "./source/genesys-limits.ts";
import {
  DEFAULT_EVICTION_BACKOFF,
  DEFAULT_EVICTION_WINDOW_MS,
  type SlotFailureOptions,
} from "./supervisor/slot-failures.ts";

export interface WorkerConfig {
  sourceKind: "genesys" | "generic";
  /** Genesys REST base, e.g. https://api.mypurecloud.com (genesys sources). */
  apiUrl: string | undefined;
  /** Identity provider base, e.g. https://login.mypurecloud.com (direct token source). */
  loginUrl: string | undefined;
  genericStreamUrl: string | undefined;
  genericTokenPlacement: TokenPlacement;
  /** Topics to subscribe; empty until loaded when they come from `topicsSource` (see topic-loader.ts). */
  topics: string[];
  /** Where the topics are: TOPICS itself, or a topic list file (TOPICS_FILE) or S3 object (TOPICS_S3_URI). */
  topicsSource?: TopicsSource;
  /** Most topics a loaded list may hold (TOPICS_MAX; the deployment's channel budget counted with it). */
  topicsMax?: number | undefined;
  redundancy: number;
  tokenSource:
    | { kind: "broker"; brokerUrl: string; profile: string }
    | { kind: "direct"; clientId: string; clientSecret: string };
  queueUrl: string;
  region: string;
  awsEndpointUrl: string | undefined;
  healthPort: number;
  spoolDir: string;
  offloadBucket: string | undefined;
  /**
   * Standard SQS queue for dead-letter records (DEAD_LETTER_QUEUE_URL): messages that can go neither inline
   * nor to the offload bucket. Without it they go to `dead-letter.jsonl` in SPOOL_DIR only.
   */
  deadLetterQueueUrl?: string | undefined;
  /** Durable backlog and coverage ledger (both or neither); see worker/durability.ts. */
  durability?: DurabilityConfig;
  shutdownTimeoutMs: number;
  /**
   * `/livez` (the container health check) also waits for the first coverage during this long after start,
   * so a deployment stays make-before-break; after it, only process liveness counts.
   */
  startupGraceMs?: number;
  heartbeatTimeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Shortest life of a session before a planned rotation. */
  minSessionLifeMs: number;
  metricsIntervalMs: number;
  /** Default: DEFAULT_INFLIGHT_MIN / DEFAULT_INFLIGHT_MAX. */
  sinkInFlight?: SinkInFlightConfig;
  logLevel: LogLevel;
  /** Longest delay between two sessions delivering the same upstream event (de-dup window). */
  lagBoundMs?: number;
  /** Longest time a confirmed subscription takes to deliver events (upstream propagation). */
  propagationMs?: number;
  /** How long a replaced session keeps delivering after its replacement is live. */
  drainMs?: number;
  /** How often a live Genesys channel and its token are probed (0 = never). */
  probeIntervalMs?: number;
  /** Refused (or vanished) topics are subscribed again on the same channel this often (jittered ±20%). */
  refusedTopicRetryMs?: number;
  /** Frames above this are malformed (counted, logged), not events. */
  maxFrameBytes?: number;
  /** Bounds on repeated failures per slot (400s, broker refusals) and the channel-eviction backoff. */
  failures?: SlotFailureOptions;
}

export interface DurabilityConfig {
  /** S3 bucket of the durable backlog (`BACKLOG_BUCKET`). */
  backlogBucket: string;
  /** DynamoDB table of the coverage ledger (`COVERAGE_TABLE`). */
  coverageTable: string;
  /** Tasks covering the same topics share a scope (`COVERAGE_SCOPE`). */
  scope: string;
  /** This process's id in the ledger and backlog (`TASK_ID`; default: host name + random suffix). */
  taskId: string | undefined;
  heartbeatMs: number;
  staleAfterMs: number;
  flushIntervalMs: number;
  maxBacklogBytes: number;
  /** Endpoint overrides for emulators (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB`; else AWS_ENDPOINT_URL). */
  s3Endpoint: string | undefined;
  dynamodbEndpoint: string | undefined;
}

export type TopicsSource =
  | { kind: "env" }
  | { kind: "file"; path: string }
  | { kind: "s3"; bucket: string; key: string };

/** Bounds of the sink's adaptive SendMessageBatch concurrency. */
export interface SinkInFlightConfig {
  min: number;
  max: number;
}

export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT";
const LOG_LEVELS: readonly string[] = ["DEBUG", "INFO", "WARN", "ERROR", "SILENT"];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid worker configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const required = (name: string, why: string): string => {
    const v = str(name);
    if (v === undefined) problems.push(`${name} is required ${why}`);
    return v ?? "";
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer in [${min}, ${max}]`);
      return fallback;
    }
    return n;
  };
  const url = (name: string, protocols: string[], value = str(name)): string | undefined => {
    if (value === undefined) return undefined;
    try {
      const u = new URL(value);
      if (!protocols.includes(u.protocol)) throw new Error("protocol");
      return value.replace(/\/+$/, "");
    } catch {
      problems.push(`${name} must be a ${protocols.join(" or ")} URL`);
      return undefined;
    }
  };

  const sourceKindRaw = str("SOURCE_KIND") ?? "genesys";
  if (sourceKindRaw !== "genesys" && sourceKindRaw !== "generic") {
    problems.push("SOURCE_KIND must be genesys or generic");
  }
  const sourceKind = sourceKindRaw === "generic" ? "generic" : "genesys";

  const genesysEnv = str("GENESYS_ENV");
  if (genesysEnv !== undefined && !/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(genesysEnv)) {
    problems.push("GENESYS_ENV must be a domain such as mypurecloud.com");
  }
  const envOk = genesysEnv !== undefined && /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(genesysEnv);
  const apiUrl =
    url("GENESYS_API_URL", ["https:", "http:"]) ?? (envOk ? `https://api.${genesysEnv}` : undefined);
  const loginUrl =
    url("GENESYS_LOGIN_URL", ["https:", "http:"]) ?? (envOk ? `https://login.${genesysEnv}` : undefined);
  if (sourceKind === "genesys" && apiUrl === undefined && str("GENESYS_API_URL") === undefined) {
    problems.push("GENESYS_ENV or GENESYS_API_URL is required for SOURCE_KIND=genesys");
  }
  const genericStreamUrl = url("GENERIC_STREAM_URL", ["wss:", "ws:"]);
  if (sourceKind === "generic" && str("GENERIC_STREAM_URL") === undefined) {
    problems.push("GENERIC_STREAM_URL is required for SOURCE_KIND=generic");
  }
  const placement = str("GENERIC_TOKEN_IN") ?? "query";
  if (placement !== "query" && placement !== "header")
    problems.push("GENERIC_TOKEN_IN must be query or header");

  const topics = [
    ...new Set(
      (str("TOPICS") ?? "")
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t !== ""),
    ),
  ];
  const topicsFile = str("TOPICS_FILE");
  const topicsS3Uri = str("TOPICS_S3_URI");
  let topicsSource: TopicsSource = { kind: "env" };
  const sources = [topics.length > 0, topicsFile !== undefined, topicsS3Uri !== undefined].filter(Boolean);
  if (sources.length > 1) problems.push("set only one of TOPICS, TOPICS_FILE and TOPICS_S3_URI");
  if (topicsFile !== undefined) {
    if (!isAbsolute(topicsFile)) problems.push("TOPICS_FILE must be an absolute path");
    topicsSource = { kind: "file", path: topicsFile };
  } else if (topicsS3Uri !== undefined) {
    const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(topicsS3Uri);
    if (!match) problems.push("TOPICS_S3_URI must be s3://<bucket>/<key>");
    else topicsSource = { kind: "s3", bucket: match[1]!, key: match[2]! };
  } else if (topics.length === 0) {
    problems.push("TOPICS must list at least one topic (comma separated)");
  }
  const topicsMax = str("TOPICS_MAX") === undefined ? undefined : int("TOPICS_MAX", 10_000, 1, 100_000);

  const redundancy = int("REDUNDANCY", 2, 1, 10);
  if (sourceKind === "genesys") problems.push(...channelBudgetProblems(topics.length, redundancy));

  const tokenKind = str("TOKEN_SOURCE") ?? "broker";
  let tokenSource: WorkerConfig["tokenSource"] = { kind: "broker", brokerUrl: "", profile: "" };
  if (tokenKind === "broker") {
    const brokerUrl = url("BROKER_URL", ["https:", "http:"]);
    if (str("BROKER_URL") === undefined) problems.push("BROKER_URL is required for TOKEN_SOURCE=broker");
    const profile = required("TOKEN_PROFILE", "for TOKEN_SOURCE=broker");
    tokenSource = { kind: "broker", brokerUrl: brokerUrl ?? "", profile };
  } else if (tokenKind === "direct") {
    const clientId = required("GENESYS_CLIENT_ID", "for TOKEN_SOURCE=direct");
    const clientSecret = required("GENESYS_CLIENT_SECRET", "for TOKEN_SOURCE=direct");
    if (loginUrl === undefined && str("GENESYS_LOGIN_URL") === undefined) {
      problems.push("GENESYS_ENV or GENESYS_LOGIN_URL is required for TOKEN_SOURCE=direct");
    }
    tokenSource = { kind: "direct", clientId, clientSecret };
  } else {
    problems.push("TOKEN_SOURCE must be broker or direct");
  }

  const queueUrl = url("QUEUE_URL", ["https:", "http:"]);
  if (str("QUEUE_URL") === undefined) problems.push("QUEUE_URL is required");
  const region = str("AWS_REGION") ?? str("AWS_DEFAULT_REGION");
  if (region === undefined) problems.push("AWS_REGION is required");
  const awsEndpointUrl = url("AWS_ENDPOINT_URL", ["https:", "http:"]);
  const spoolDir = str("SPOOL_DIR") ?? "/var/spool/tokenstream";
  if (!isAbsolute(spoolDir)) problems.push("SPOOL_DIR must be an absolute path");
  const offloadBucket = str("OFFLOAD_BUCKET");
  if (offloadBucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(offloadBucket)) {
    problems.push("OFFLOAD_BUCKET must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)");
  }

  const deadLetterQueueUrl = url("DEAD_LETTER_QUEUE_URL", ["https:", "http:"]);
  if (deadLetterQueueUrl?.endsWith(".fifo")) {
    problems.push("DEAD_LETTER_QUEUE_URL must be a standard queue (records have no message group)");
  }

  const backlogBucket = str("BACKLOG_BUCKET");
  const coverageTable = str("COVERAGE_TABLE");
  if ((backlogBucket === undefined) !== (coverageTable === undefined)) {
    problems.push(
      "BACKLOG_BUCKET and COVERAGE_TABLE go together: set both (durable backlog + coverage ledger) or neither",
    );
  }
  if (backlogBucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(backlogBucket)) {
    problems.push("BACKLOG_BUCKET must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)");
  }
  const heartbeatMs = int("COVERAGE_HEARTBEAT_MS", 5_000, 50, 60_000);
  const staleAfterMs = int("COVERAGE_STALE_MS", 4 * heartbeatMs, 100, 600_000);
  if (staleAfterMs < 2 * heartbeatMs)
    problems.push("COVERAGE_STALE_MS must be at least twice COVERAGE_HEARTBEAT_MS");
  const scope = str("COVERAGE_SCOPE") ?? "tokenstream";
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(scope))
    problems.push("COVERAGE_SCOPE must be 1-100 of A-Z a-z 0-9 . _ -");
  const taskId = str("TASK_ID");
  if (taskId !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(taskId)) {
    problems.push("TASK_ID must be 1-100 of A-Z a-z 0-9 . _ -");
  }
  const durability: DurabilityConfig | undefined =
    backlogBucket !== undefined && coverageTable !== undefined
      ? {
          backlogBucket,
          coverageTable,
          scope,
          taskId,
          heartbeatMs,
          staleAfterMs,
          flushIntervalMs: int("BACKLOG_FLUSH_MS", 1_000, 20, 60_000),
          maxBacklogBytes: int("BACKLOG_MAX_BYTES", 4 * 1024 ** 3, 1024 * 1024, 1024 ** 4),
          s3Endpoint: url("AWS_ENDPOINT_URL_S3", ["https:", "http:"]) ?? awsEndpointUrl,
          dynamodbEndpoint: url("AWS_ENDPOINT_URL_DYNAMODB", ["https:", "http:"]) ?? awsEndpointUrl,
        }
      : undefined;

  const config: WorkerConfig = {
    sourceKind,
    apiUrl,
    loginUrl,
    genericStreamUrl,
    genericTokenPlacement: placement === "header" ? "header" : "query",
    topics,
    topicsSource,
    topicsMax,
    redundancy,
    tokenSource,
    queueUrl: queueUrl ?? "",
    region: region ?? "",
    awsEndpointUrl,
    healthPort: int("HEALTH_PORT", 8080, 0, 65535),
    spoolDir,
    offloadBucket,
    deadLetterQueueUrl,
    durability,
    shutdownTimeoutMs: int("SHUTDOWN_TIMEOUT_MS", 100_000, 1_000, 3_600_000),
    startupGraceMs: int("STARTUP_GRACE_MS", 240_000, 0, 3_600_000),
    heartbeatTimeoutMs: int("HEARTBEAT_TIMEOUT_MS", 65_000, 100, 600_000),
    backoffBaseMs: int("BACKOFF_BASE_MS", 500, 10, 60_000),
    backoffCapMs: int("BACKOFF_CAP_MS", 30_000, 10, 600_000),
    minSessionLifeMs: int("MIN_SESSION_LIFE_MS", 1_000, 10, 3_600_000),
    metricsIntervalMs: int("METRICS_INTERVAL_MS", 60_000, 100, 3_600_000),
    sinkInFlight: {
      min: int("SINK_MIN_IN_FLIGHT", DEFAULT_INFLIGHT_MIN, 1, 256),
      max: int("SINK_MAX_IN_FLIGHT", DEFAULT_INFLIGHT_MAX, 1, 256),
    },
    logLevel: "INFO",
    lagBoundMs: int("LAG_BOUND_MS", 10_000, 10, 300_000),
    propagationMs: int("SUBSCRIPTION_PROPAGATION_MS", 5_000, 0, 300_000),
    probeIntervalMs: int("CHANNEL_PROBE_INTERVAL_MS", 60_000, 0, 3_600_000),
    refusedTopicRetryMs: int("REFUSED_TOPIC_RETRY_MS", 300_000, 0, 86_400_000),
    maxFrameBytes: int("MAX_FRAME_BYTES", MAX_FRAME_BYTES, 1_024, 1_073_741_824),
    failures: {
      maxConsecutiveBadRequests: int("MAX_CONSECUTIVE_BAD_REQUESTS", 5, 1, 1_000),
      maxConsecutiveTokenRefusals: int("MAX_CONSECUTIVE_TOKEN_REFUSALS", 5, 1, 1_000),
      evictionWindowMs: int("CHANNEL_EVICTION_WINDOW_MS", DEFAULT_EVICTION_WINDOW_MS, 1_000, 86_400_000),
      evictionBackoff: {
        baseMs: int("CHANNEL_EVICTION_BACKOFF_BASE_MS", DEFAULT_EVICTION_BACKOFF.baseMs, 10, 3_600_000),
        capMs: int("CHANNEL_EVICTION_BACKOFF_CAP_MS", DEFAULT_EVICTION_BACKOFF.capMs, 10, 86_400_000),
      },
    },
  };
  // Default: long enough to cover propagation, the peer's lag, and the evidence a held match waits for.
  config.drainMs = int("DRAIN_MS", config.propagationMs! + 2 * config.lagBoundMs!, 0, 3_600_000);
  const eviction = config.failures!.evictionBackoff!;
  if (eviction.capMs! < eviction.baseMs!) {
    problems.push("CHANNEL_EVICTION_BACKOFF_CAP_MS must be at least CHANNEL_EVICTION_BACKOFF_BASE_MS");
  }
  if (config.sinkInFlight!.max < config.sinkInFlight!.min) {
    problems.push("SINK_MAX_IN_FLIGHT must be at least SINK_MIN_IN_FLIGHT");
  }
  const logLevel = (str("LOG_LEVEL") ?? "INFO").toUpperCase();
  if (LOG_LEVELS.includes(logLevel)) config.logLevel = logLevel as LogLevel;
  else problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Genesys channels one task may hold: worst case every slot is replaced at once (make-before-break), so 2
 * sessions per slot, each with a channel per 1,000 topics; all of the task's OAuth client.
 */
export function channelBudgetProblems(topicCount: number, redundancy: number): string[] {
  if (topicCount === 0) return [];
  const perSession = Math.ceil(topicCount / MAX_TOPICS_PER_CHANNEL);
  const peak = 2 * redundancy * perSession;
  if (peak <= MAX_CHANNELS_PER_CLIENT) return [];
  return [
    `TOPICS (${topicCount}) need ${perSession} channel(s) per session; REDUNDANCY ${redundancy} needs up to ${peak} channels while rotating, above the ${MAX_CHANNELS_PER_CLIENT} Genesys allows per OAuth client`,
  ];
}
