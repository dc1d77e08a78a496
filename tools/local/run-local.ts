/**
 * The whole system on one machine (`npm start`, the e2e test): Genesys simulator, broker behind its local
 * HTTP adapter, worker, embedded SQS/S3 (fauxqs) and DynamoDB (dynalite), and a consumer that drains the
 * queue into a JSONL file. Against a real org (`real`), the simulator and broker are left out and the worker
 * mints its own tokens (TOKEN_SOURCE=direct) while still writing to the local queue.
 */
import { join, resolve } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  DEFAULT_LOCAL_IDENTITY,
  type LocalBroker,
  startLocalBroker,
} from "../../functions/broker/local-server.ts";
import type { BrokerProfile } from "../../shared/contracts.ts";
import { type Simulator, startSimulator } from "../../sim/index.ts";
import { type RunningWorker, startWorker, type WorkerStats } from "../../worker/app.ts";
import { loadWorkerConfig } from "../../worker/config.ts";
import { BrokerTokenSource } from "../../worker/token/broker-token-source.ts";
import { runAuditCli } from "../audit/cli.ts";
import { waitUntil } from "../wait-until.ts";
import {
  deadLetterRecords,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalEmulators,
  queueDepth,
  startEmulators,
} from "./emulators.ts";
import { type QueueConsumer, startQueueConsumer } from "./queue-consumer.ts";
import { readQueuedMessages } from "./queue-file.ts";
import { type Reconciliation, reconcile } from "./reconcile.ts";
import { silentWorkerTelemetry } from "./silent-telemetry.ts";
import {
  type LiveStatus,
  type StatusOutput,
  type StatusReporter,
  startStatusReporter,
} from "./status-line.ts";
import type { RunSummary } from "./summary.ts";

export const LOCAL_PROFILE = "local";
const SIM_CLIENT = { clientId: "tokenstream-local", clientSecret: "local-secret-not-a-real-one" };

/** Point the worker at a real Genesys Cloud org instead of the simulator. */
export interface RealOrgOptions {
  /** e.g. mypurecloud.com; or give apiUrl + loginUrl. */
  genesysEnv?: string;
  apiUrl?: string;
  loginUrl?: string;
  clientId: string;
  clientSecret: string;
  topics: string[];
}

export interface RunLocalOptions {
  /** Stop after this long; without it the run lasts until `signal` aborts. */
  durationMs?: number;
  signal?: AbortSignal;
  redundancy?: number;
  topics?: string[];
  /** Simulator events per second per topic. */
  eventRatePerTopic?: number;
  tokenLifetimeSec?: number;
  /** First v2.system.socket_closing (to one open socket) this long after events start; null = none. */
  socketClosingAfterMs?: number | null;
  /** Then another one at this interval. */
  socketClosingEveryMs?: number;
  /** How long after socket_closing the simulator force-closes the socket. */
  socketClosingGraceMs?: number;
  heartbeatIntervalMs?: number;
  /** One abrupt socket drop this long after events start; null = none. */
  dropAfterMs?: number | null;
  /** Where the JSONL file and the worker's spool go. Default `.local` under the working directory. */
  dataDir?: string;
  /** Live status line target; false = none. */
  status?: StatusOutput | false;
  /** Progress messages (what started, where files are). Default: none. */
  log?: (message: string) => void;
  real?: RealOrgOptions;
  seed?: number;
}

export interface LocalRunResult {
  summary: RunSummary;
  /** Queue contents vs the simulator's ledger (absent against a real org). */
  reconciliation?: Reconciliation;
  jsonlPath: string;
  workerStats: WorkerStats;
  /** `tokenstream-audit --summary` over the run's audit table (absent against a real org). */
  auditSummary?: string;
  /** True when the worker drained its buffer to the queue before stopping. */
  drained: boolean;
}

export const LOCAL_DEFAULTS = {
  redundancy: 2,
  topics: [
    "v2.users.local-agent-1.presence",
    "v2.routing.queues.local-queue.conversations",
    "v2.analytics.local",
  ],
  eventRatePerTopic: 20,
  tokenLifetimeSec: 20,
  socketClosingAfterMs: 8_000,
  socketClosingEveryMs: 20_000,
  socketClosingGraceMs: 10_000,
  heartbeatIntervalMs: 5_000,
  dropAfterMs: 12_000,
} as const;

export async function runLocal(options: RunLocalOptions = {}): Promise<LocalRunResult> {
  const log = options.log ?? (() => {});
  const redundancy = options.redundancy ?? LOCAL_DEFAULTS.redundancy;
  const topics = options.real?.topics ?? options.topics ?? [...LOCAL_DEFAULTS.topics];
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? LOCAL_DEFAULTS.heartbeatIntervalMs;
  const tokenLifetimeSec = options.tokenLifetimeSec ?? LOCAL_DEFAULTS.tokenLifetimeSec;
  const dataDir = resolve(options.dataDir ?? ".local");
  const runId = new Date().toISOString().replace(/[:.]/g, "-");
  const jsonlPath = join(dataDir, `events-${runId}.jsonl`);
  const cleanups: (() => Promise<unknown>)[] = [];
  const started = Date.now();

  let reporter: StatusReporter | undefined;
  const say = (message: string) => (reporter ? reporter.log(message) : log(message));

  try {
    const emulators = await startEmulators();
    cleanups.push(() => emulators.stop());
    log(`SQS/S3 (fauxqs):   ${emulators.sqsEndpoint}  queue ${emulators.queueName}`);
    log(
      `DynamoDB (dynalite): ${emulators.dynamoEndpoint}  tables ${emulators.leaseTable}, ${emulators.auditTable}`,
    );

    let sim: Simulator | undefined;
    let broker: LocalBroker | undefined;
    if (!options.real) {
      sim = await startSimulator({
        clients: [SIM_CLIENT],
        tokenLifetimeSec,
        heartbeatIntervalMs,
        socketClosingGraceMs: options.socketClosingGraceMs ?? LOCAL_DEFAULTS.socketClosingGraceMs,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
      });
      const simulator = sim;
      cleanups.push(() => simulator.close());
      log(`Genesys simulator: ${sim.apiUrl} (tokens live ${tokenLifetimeSec} s)`);
      broker = await startBrokerFor(sim, emulators, redundancy);
      const running = broker;
      cleanups.push(() => running.close());
      log(`token broker:      ${broker.url} (caller ${DEFAULT_LOCAL_IDENTITY.userArn})`);
      cleanups.push(startRefreshSchedule(broker, tokenLifetimeSec));
    }

    const worker = await startLocalWorker({ options, emulators, sim, broker, topics, redundancy, dataDir });
    let workerStopped = false;
    cleanups.push(async () => {
      if (!workerStopped) await worker.stop(Date.now() + 5_000);
    });
    log(
      `worker:            redundancy ${redundancy}, ${topics.length} topic(s), /healthz on port ${worker.healthPort}`,
    );

    const consumer = startQueueConsumer({ sqs: emulators.sqs, queueUrl: emulators.queueUrl, jsonlPath });
    cleanups.push(() => consumer.stop());
    log(`consumer:          events are appended to ${jsonlPath}`);

    await waitUntil(() => worker.stats().liveSessions >= 1, {
      timeoutMs: 30_000,
      what: "a live session",
      pollMs: 50,
      signal: options.signal,
    }).catch(() => {
      throw new Error(
        "no worker session became live within 30 s (check the endpoints and credentials above)",
      );
    });
    const eventsStartedAt = Date.now();
    if (sim) sim.startGenerator(options.eventRatePerTopic ?? LOCAL_DEFAULTS.eventRatePerTopic);
    const faultTimers = sim ? scheduleFaults(sim, options, say) : [];
    cleanups.push(async () => {
      for (const timer of faultTimers) clearTimeout(timer);
    });

    if (options.status) {
      const simulator = sim;
      reporter = startStatusReporter({
        output: options.status,
        read: () => liveStatus(worker.stats(), started, simulator, consumer),
      });
    }

    await waitForStop(options.durationMs, options.signal);
    const stoppedAt = Date.now();
    for (const timer of faultTimers) clearTimeout(timer);
    say("stopping: generator off, draining the worker and the queue (Ctrl-C again to skip) ...");

    // Let the worker receive what the simulator already sent before it stops listening.
    if (sim) {
      sim.stopGenerator();
      const simulator = sim;
      await waitUntil(() => worker.stats().eventsOut >= simulator.ledger.summary().delivered, {
        timeoutMs: 5_000,
        what: "the worker to hand every delivered event to the queue",
        pollMs: 50,
      }).catch(() => {});
    }
    const stopResult = await worker.stop(Date.now() + 30_000);
    workerStopped = true;
    const queueEmpty = () => queueDepth(emulators) === 0;
    await consumer.drain(queueEmpty, 30_000);
    reporter?.stop();
    reporter = undefined;

    const workerStats = worker.stats();
    const { messages } = readQueuedMessages(jsonlPath);
    const result: LocalRunResult = {
      jsonlPath,
      workerStats,
      drained: stopResult.drained,
      summary: {
        durationMs: stoppedAt - eventsStartedAt,
        delivered: 0,
        duplicates: 0,
        duplicatesDropped: workerStats.duplicatesDropped,
        rotations: workerStats.rotations,
        gaps: 0,
        gapMs: 0,
      },
    };
    if (sim) {
      const reconciliation = reconcile(sim.ledger.published(), messages, {
        deadLetters: deadLetterRecords(emulators),
      });
      result.reconciliation = reconciliation;
      Object.assign(result.summary, {
        published: reconciliation.published,
        delivered: reconciliation.delivered,
        lost: reconciliation.lost,
        lostCoveredByGap: reconciliation.lostCoveredByGap,
        lostCoveredByDeadLetter: reconciliation.lostCoveredByDeadLetter,
        deadLettered: reconciliation.deadLetterRecords,
        lostUncovered: reconciliation.lostUncovered,
        duplicates: reconciliation.duplicates,
        idpCalls: sim.counters.tokenRequests,
        gaps: reconciliation.gaps,
        gapMs: reconciliation.gapMs,
        socketClosings: sim.counters.socketClosingSent,
        drops: sim.counters.drops,
      });
      result.auditSummary = await auditSummary(emulators);
    } else {
      const unknown = reconcile([], messages);
      Object.assign(result.summary, {
        delivered: unknown.unknown,
        gaps: unknown.gaps,
        gapMs: unknown.gapMs,
      });
    }
    return result;
  } finally {
    reporter?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

/** One token lane per worker slot, so the redundant sessions hold distinct tokens as in AWS. */
async function startBrokerFor(
  sim: Simulator,
  emulators: LocalEmulators,
  lanes: number,
): Promise<LocalBroker> {
  const profile: BrokerProfile = {
    name: LOCAL_PROFILE,
    loginUrl: sim.loginUrl,
    credentialsSecretArn: `arn:aws:secretsmanager:${LOCAL_REGION}:000000000000:secret:tokenstream/local/credentials`,
    tokenSecretArn: `arn:aws:secretsmanager:${LOCAL_REGION}:000000000000:secret:tokenstream/local/token`,
    lanes,
  };
  const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  return startLocalBroker({
    profiles: [profile],
    dynamo: emulators.dynamo,
    auditTable: emulators.auditTable,
    leaseTable: emulators.leaseTable,
    credentials: { [LOCAL_PROFILE]: SIM_CLIENT },
    log: quiet,
  });
}

/** The faults that make a short run interesting: socket_closing now and then, one abrupt drop. */
function scheduleFaults(
  sim: Simulator,
  options: RunLocalOptions,
  say: (message: string) => void,
): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
  const dropAfterMs = options.dropAfterMs === undefined ? LOCAL_DEFAULTS.dropAfterMs : options.dropAfterMs;
  if (dropAfterMs !== null) {
    timers.push(
      setTimeout(() => {
        const dropped = sim.faults.dropSocket("random");
        say(`[fault] abrupt drop of ${dropped} socket(s) (no close frame)`);
      }, dropAfterMs),
    );
  }
  const closingAfterMs =
    options.socketClosingAfterMs === undefined
      ? LOCAL_DEFAULTS.socketClosingAfterMs
      : options.socketClosingAfterMs;
  const closingEveryMs = options.socketClosingEveryMs ?? LOCAL_DEFAULTS.socketClosingEveryMs;
  if (closingAfterMs !== null) {
    const closing = () => {
      const sent = sim.faults.sendSocketClosing("random");
      say(`[fault] v2.system.socket_closing sent to ${sent} socket(s)`);
      timers.push(setTimeout(closing, closingEveryMs));
    };
    timers.push(setTimeout(closing, closingAfterMs));
  }
  return timers;
}

/** EventBridge Scheduler's job locally: the scheduled refresh, at a cadence that suits short-lived tokens. */
function startRefreshSchedule(broker: LocalBroker, tokenLifetimeSec: number): () => Promise<void> {
  const everyMs = Math.max(1_000, Math.round((tokenLifetimeSec * 1000) / 10));
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = broker.broker.handle({ kind: "scheduled-refresh" }).catch(() => {});
  }, everyMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

interface WorkerStartContext {
  options: RunLocalOptions;
  emulators: LocalEmulators;
  sim: Simulator | undefined;
  broker: LocalBroker | undefined;
  topics: string[];
  redundancy: number;
  dataDir: string;
}

async function startLocalWorker(context: WorkerStartContext): Promise<RunningWorker> {
  const { options, emulators, sim, broker, topics, redundancy, dataDir } = context;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? LOCAL_DEFAULTS.heartbeatIntervalMs;
  const env: Record<string, string> = {
    SOURCE_KIND: "genesys",
    TOPICS: topics.join(","),
    REDUNDANCY: String(redundancy),
    QUEUE_URL: emulators.queueUrl,
    AWS_REGION: LOCAL_REGION,
    AWS_ENDPOINT_URL: emulators.sqsEndpoint,
    OFFLOAD_BUCKET: emulators.bucketName,
    DEAD_LETTER_QUEUE_URL: emulators.deadLetterQueueUrl,
    HEALTH_PORT: "0",
    SPOOL_DIR: join(dataDir, "spool"),
    SHUTDOWN_TIMEOUT_MS: "30000",
    LOG_LEVEL: "SILENT",
  };
  if (sim && broker) {
    Object.assign(env, {
      GENESYS_API_URL: sim.apiUrl,
      GENESYS_LOGIN_URL: sim.loginUrl,
      TOKEN_SOURCE: "broker",
      BROKER_URL: broker.url,
      TOKEN_PROFILE: LOCAL_PROFILE,
      HEARTBEAT_TIMEOUT_MS: String(Math.max(1_000, heartbeatIntervalMs * 2 + 500)),
      // The simulator's channels lag each other by milliseconds; its tokens live seconds, not hours.
      LAG_BOUND_MS: "2000",
      SUBSCRIPTION_PROPAGATION_MS: "500",
      BACKOFF_BASE_MS: "100",
      BACKOFF_CAP_MS: "5000",
    });
  } else if (options.real) {
    const real = options.real;
    Object.assign(env, {
      TOKEN_SOURCE: "direct",
      GENESYS_CLIENT_ID: real.clientId,
      GENESYS_CLIENT_SECRET: real.clientSecret,
      ...(real.genesysEnv ? { GENESYS_ENV: real.genesysEnv } : {}),
      ...(real.apiUrl ? { GENESYS_API_URL: real.apiUrl } : {}),
      ...(real.loginUrl ? { GENESYS_LOGIN_URL: real.loginUrl } : {}),
    });
  }
  const config = loadWorkerConfig(env);
  const clientConfig = {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: emulators.sqsEndpoint,
  };
  return startWorker(config, {
    sqs: new SQSClient(clientConfig),
    s3: new S3Client({ ...clientConfig, forcePathStyle: true }),
    // Against a real org the reason a session fails (DNS, invalid_client, 403 on a topic) matters.
    telemetry: silentWorkerTelemetry(options.real ? "WARN" : "SILENT"),
    ...(broker
      ? {
          tokenSource: new BrokerTokenSource({
            brokerUrl: broker.url,
            profile: LOCAL_PROFILE,
            region: LOCAL_REGION,
            credentials: LOCAL_CREDENTIALS,
          }),
        }
      : {}),
  });
}

function liveStatus(
  stats: WorkerStats,
  started: number,
  sim: Simulator | undefined,
  consumer: QueueConsumer,
): LiveStatus {
  return {
    elapsedMs: Date.now() - started,
    sessionsLive: stats.liveSessions,
    eventsIn: stats.eventsIn,
    eventsOut: stats.eventsOut,
    duplicatesDropped: stats.duplicatesDropped,
    rotations: stats.rotations,
    idpCalls: sim?.counters.tokenRequests ?? stats.tokenRefreshes,
    gaps: stats.gaps,
    gapMs: stats.gapMs,
    consumed: consumer.consumed(),
  };
}

async function auditSummary(emulators: LocalEmulators): Promise<string> {
  let out = "";
  await runAuditCli(
    ["--table", emulators.auditTable, "--all", "--summary", "--endpoint-url", emulators.dynamoEndpoint],
    {
      stdout: (chunk) => {
        out += chunk;
      },
      stderr: (chunk) => {
        out += chunk;
      },
      env: {},
      createClient: () => DynamoDBDocumentClient.from(emulators.dynamo),
    },
  );
  return out;
}

function waitForStop(durationMs: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolveStop) => {
    if (signal?.aborted) return resolveStop();
    const timer = durationMs === undefined ? undefined : setTimeout(done, durationMs);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolveStop();
    }
  });
}
