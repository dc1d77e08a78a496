/**
 * Soak: correctness under churn, not speed. In one process: the simulator (tokens expire every 6 s,
 * `v2.system.socket_closing` to a random socket every 7 s, a random socket dropped abruptly about every
 * 9 s, heartbeats every 2 s), fauxqs (FIFO queue + offload bucket), the worker at redundancy 2 (the
 * default) and, on the same simulator at the same time, the naive baseline client
 * (bench/baseline/naive-client.ts: one connection, reconnect 1 s after any close, no overlap, no de-dup).
 * The generator emits 300 events/s on each of 5 topics until the simulator's ledger holds >= 100k events
 * (or 120 s pass); then the worker is given up to 15 s to catch up and stopped (SIGTERM path: drain).
 * - `soak.published`: every event the simulator published on the 5 topics, whether or not any socket was
 *   subscribed; `soak.lost` = published - delivered (in the queue), split into `soak.lostCoveredByGap`
 *   (published inside a `tokenstream.gap` the worker recorded for that topic) and `soak.lostUncovered`
 *   (goal 0); `soak.duplicatesInQueue`: extra copies of an event in the queue; all counted by
 *   tools/local/reconcile.ts from every message fauxqs holds.
 * - `soak.rotations`, `soak.socketClosingSent`, `soak.drops`, `soak.tokensExpired`: the churn that
 *   actually happened; `soak.gaps` / `gapMs`: intervals the worker recorded with no live session.
 * - `baseline.lost`: ledger events the naive client never received, over the same period.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { QueuedMessage } from "../../shared/contracts.ts";
import { type ReceivedRef, receivedRef, startSimulator } from "../../sim/index.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startEmulators } from "../../tools/local/emulators.ts";
import { reconcile } from "../../tools/local/reconcile.ts";
import { silentWorkerTelemetry } from "../../tools/local/silent-telemetry.ts";
import { waitUntil } from "../../tools/wait-until.ts";
import { startWorker } from "../../worker/app.ts";
import { loadWorkerConfig } from "../../worker/config.ts";
import { startNaiveClient } from "../baseline/naive-client.ts";

export interface SoakOptions {
  targetEvents?: number;
  topics?: number;
  ratePerTopic?: number;
  tokenLifetimeSec?: number;
  /** Maintenance notice (v2.system.socket_closing) to one random socket at this interval. */
  socketClosingEveryMs?: number;
  randomDropEveryMs?: number;
  /** Give up producing after this long even if targetEvents was not reached. */
  maxProduceMs?: number;
}

const WORKER_CLIENT = { clientId: "soak-worker", clientSecret: "soak-worker-secret" };
const BASELINE_CLIENT = { clientId: "soak-baseline", clientSecret: "soak-baseline-secret" };

export async function runSoak(options: SoakOptions = {}): Promise<Record<string, number>> {
  const targetEvents = options.targetEvents ?? 100_000;
  const topics = Array.from({ length: options.topics ?? 5 }, (_, i) => `v2.soak.topic${i + 1}`);
  const spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-soak-"));
  const emulators = await startEmulators();
  const sim = await startSimulator({
    clients: [WORKER_CLIENT, BASELINE_CLIENT],
    tokenLifetimeSec: options.tokenLifetimeSec ?? 6,
    heartbeatIntervalMs: 2_000,
    socketClosingGraceMs: 3_000,
    randomDropEveryMs: options.randomDropEveryMs ?? 9_000,
    seed: 20261123,
  });
  const baselineReceived: ReceivedRef[] = [];
  const baseline = startNaiveClient({
    loginUrl: sim.loginUrl,
    apiUrl: sim.apiUrl,
    ...BASELINE_CLIENT,
    topics,
    onEvent: (event) => baselineReceived.push(receivedRef(event)),
  });
  const clientConfig = {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: emulators.sqsEndpoint,
  };
  const worker = await startWorker(
    loadWorkerConfig({
      SOURCE_KIND: "genesys",
      GENESYS_API_URL: sim.apiUrl,
      GENESYS_LOGIN_URL: sim.loginUrl,
      TOKEN_SOURCE: "direct",
      GENESYS_CLIENT_ID: WORKER_CLIENT.clientId,
      GENESYS_CLIENT_SECRET: WORKER_CLIENT.clientSecret,
      TOPICS: topics.join(","),
      REDUNDANCY: "2",
      QUEUE_URL: emulators.queueUrl,
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL: emulators.sqsEndpoint,
      OFFLOAD_BUCKET: emulators.bucketName,
      SPOOL_DIR: spoolDir,
      HEARTBEAT_TIMEOUT_MS: "5000",
      // The simulator's channels lag each other by milliseconds; its tokens live seconds, not hours.
      LAG_BOUND_MS: "500",
      SUBSCRIPTION_PROPAGATION_MS: "200",
      BACKOFF_BASE_MS: "100",
      BACKOFF_CAP_MS: "3000",
      LOG_LEVEL: "SILENT",
    }),
    {
      sqs: new SQSClient(clientConfig),
      s3: new S3Client({ ...clientConfig, forcePathStyle: true }),
      telemetry: silentWorkerTelemetry(),
      health: false,
    },
  );
  let workerStopped = false;
  try {
    await waitUntil(() => worker.stats().liveSessions >= 2 && baseline.live(), {
      timeoutMs: 30_000,
      what: "soak: worker and baseline live",
      pollMs: 100,
    });
    const started = Date.now();
    sim.startGenerator(options.ratePerTopic ?? 300);
    // Sessions rotate for token expiry long before any socket ages into the simulator's own maintenance
    // schedule, so maintenance notices are sent on a timer instead.
    const maintenance = setInterval(
      () => sim.faults.sendSocketClosing("random"),
      options.socketClosingEveryMs ?? 7_000,
    );
    const maxProduceMs = options.maxProduceMs ?? 120_000;
    await waitUntil(() => sim.ledger.total() >= targetEvents || Date.now() - started > maxProduceMs, {
      timeoutMs: maxProduceMs + 5_000,
      what: "soak: target events",
      pollMs: 100,
    });
    sim.stopGenerator();
    clearInterval(maintenance);
    const produceMs = Date.now() - started;
    const delivered = sim.ledger.summary().delivered;
    await waitUntil(() => worker.stats().eventsOut >= delivered, {
      timeoutMs: 15_000,
      what: "soak: worker caught up",
      pollMs: 100,
    }).catch(() => {});
    const stop = await worker.stop(Date.now() + 90_000);
    workerStopped = true;
    const workerStats = worker.stats();
    await baseline.stop();

    const queue = emulators.fauxqs.inspectQueue(emulators.queueName);
    const bodies = queue
      ? [
          ...queue.messages.ready,
          ...queue.messages.delayed,
          ...queue.messages.inflight.map((entry) => entry.message),
        ]
      : [];
    const messages = bodies.map((message) => JSON.parse(message.body) as QueuedMessage);
    const result = reconcile(sim.ledger.published(), messages);
    const baselineLost = sim.ledger.missingFrom(baselineReceived).length;
    const baselineStats = baseline.stats();
    return {
      "soak.published": result.published,
      "soak.delivered": result.delivered,
      "soak.lost": result.lost,
      "soak.lostCoveredByGap": result.lostCoveredByGap,
      "soak.lostUncovered": result.lostUncovered,
      "soak.duplicatesInQueue": result.duplicates,
      "soak.unknownInQueue": result.unknown,
      "soak.gaps": result.gaps,
      "soak.gapMs": result.gapMs,
      "soak.rotations": workerStats.rotations,
      "soak.duplicatesDropped": workerStats.duplicatesDropped,
      "soak.socketClosingSent": sim.counters.socketClosingSent,
      "soak.drops": sim.counters.drops,
      "soak.tokensExpired": sim.counters.tokensExpired,
      "soak.produceSeconds": Math.round(produceMs / 100) / 10,
      "soak.drainedBeforeStop": stop.drained ? 1 : 0,
      "baseline.received": baselineReceived.length,
      "baseline.lost": baselineLost,
      "baseline.reconnects": Math.max(0, baselineStats.connects - 1),
    };
  } finally {
    if (!workerStopped) await worker.stop(Date.now() + 5_000).catch(() => {});
    await baseline.stop().catch(() => {});
    await sim.close();
    await emulators.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}
