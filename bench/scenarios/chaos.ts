/**
 * Chaos: the worker (redundancy 2, direct tokens) against the simulator's seeded chaos schedule
 * (sim/chaos.ts: every fault kind, a fault about every 2.5 s) for at least 3 minutes and at least 100k
 * published events, on 5 topics at 120 events/s each, with CorrelationIds mixed (unique, shared, absent),
 * 0.2% of events repeated identically (back to back, across a rotation, 60..170 s later: inside SQS FIFO's
 * 5-minute de-dup interval) and 15 s tokens. Then the worker drains (SIGTERM path) and the queue, with
 * offloaded events read back from S3, is reconciled with everything the simulator published.
 * - `chaos.published` / `delivered` / `lost`; `lostCoveredByGap` (inside a recorded `tokenstream.gap`)
 *   and `lostUncovered` (goal 0); `duplicatesInQueue`, of which `duplicatesMarkedPossible` carry the
 *   worker's possibleDuplicate mark and `unmarkedDuplicatesInQueue` do not (goal 0); `identicalPublished`
 *   / `identicalDelivered` and their difference `identicalMissing` (identical events lost inside a
 *   recorded gap, e.g. a forbidden topic's window, count here too), `identicalMissingUncovered` (goal 0);
 *   `seed`;
 *   `faults` (total), `faults.<kind>` (faults that took effect, per kind) and `faultKindsBelowTwice`
 *   (kinds that took effect fewer than twice, goal 0).
 * Missed goals are printed as MISSED; they never fail the run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { QueuedEventMessage, QueuedMessage } from "../../shared/contracts.ts";
import { envelopeContentKey } from "../../sim/content-key.ts";
import { CHAOS_FAULT_KINDS, startSimulator } from "../../sim/index.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startEmulators } from "../../tools/local/emulators.ts";
import { type PublishedRecord, reconcile } from "../../tools/local/reconcile.ts";
import { silentWorkerTelemetry } from "../../tools/local/silent-telemetry.ts";
import { waitUntil } from "../../tools/wait-until.ts";
import { startWorker } from "../../worker/app.ts";
import { loadWorkerConfig } from "../../worker/config.ts";
import { queueContents } from "../support/queue-contents.ts";

export interface ChaosScenarioOptions {
  seed?: number;
  minProduceMs?: number;
  maxProduceMs?: number;
  targetEvents?: number;
  topics?: number;
  ratePerTopic?: number;
  meanFaultIntervalMs?: number;
}

const CLIENT = { clientId: "chaos-worker", clientSecret: "chaos-worker-secret" };

export async function runChaos(options: ChaosScenarioOptions = {}): Promise<Record<string, number>> {
  const seed = options.seed ?? Number(process.env.CHAOS_SEED ?? 20261204);
  const minProduceMs = options.minProduceMs ?? 180_000;
  const maxProduceMs = options.maxProduceMs ?? 240_000;
  const targetEvents = options.targetEvents ?? 100_000;
  const topics = Array.from({ length: options.topics ?? 5 }, (_, i) => `v2.chaos.topic${i + 1}`);
  const spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-chaos-"));
  const emulators = await startEmulators();
  const sim = await startSimulator({
    clients: [CLIENT],
    topics,
    tokenLifetimeSec: 15,
    heartbeatIntervalMs: 2_000,
    socketClosingGraceMs: 3_000,
    correlationModel: "mixed",
    identicalShare: 0.002,
    identicalDelayMinMs: 60_000,
    identicalDelayMaxMs: 170_000,
    seed,
    chaos: { seed, meanIntervalMs: options.meanFaultIntervalMs ?? 2_500, autoStart: false },
  });
  const clientConfig = {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: emulators.sqsEndpoint,
  };
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const worker = await startWorker(
    loadWorkerConfig({
      SOURCE_KIND: "genesys",
      GENESYS_API_URL: sim.apiUrl,
      GENESYS_LOGIN_URL: sim.loginUrl,
      TOKEN_SOURCE: "direct",
      GENESYS_CLIENT_ID: CLIENT.clientId,
      GENESYS_CLIENT_SECRET: CLIENT.clientSecret,
      TOPICS: topics.join(","),
      REDUNDANCY: "2",
      QUEUE_URL: emulators.queueUrl,
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL: emulators.sqsEndpoint,
      OFFLOAD_BUCKET: emulators.bucketName,
      SPOOL_DIR: spoolDir,
      HEARTBEAT_TIMEOUT_MS: "5000",
      // The chaos schedule's bounds: channels up to 10 s (+0.5 s jitter) behind, subscriptions up to 2 s late.
      LAG_BOUND_MS: "10500",
      SUBSCRIPTION_PROPAGATION_MS: "2000",
      BACKOFF_BASE_MS: "100",
      BACKOFF_CAP_MS: "3000",
      LOG_LEVEL: "SILENT",
    }),
    { sqs: new SQSClient(clientConfig), s3, telemetry: silentWorkerTelemetry(), health: false },
  );
  let workerStopped = false;
  try {
    await waitUntil(() => worker.stats().liveSessions >= 2, {
      timeoutMs: 30_000,
      what: "chaos: worker live",
      pollMs: 100,
    });
    const chaos = sim.chaos!;
    const started = Date.now();
    sim.startGenerator(options.ratePerTopic ?? 120);
    chaos.start();
    let logged = 0;
    let lastStatus = started;
    const progress = setInterval(() => {
      // Each fault as it took effect, so a loss can be traced to what caused it.
      for (const entry of chaos.log.slice(logged)) {
        const at = ((Date.parse(entry.at) - started) / 1000).toFixed(1);
        process.stderr.write(`[chaos] ${at} s ${entry.kind}: ${entry.detail}\n`);
      }
      logged = chaos.log.length;
      if (Date.now() - lastStatus < 30_000) return;
      lastStatus = Date.now();
      const s = sim.ledger.summary();
      process.stderr.write(
        `[chaos] ${Math.round((Date.now() - started) / 1000)} s: ${s.published} published, ` +
          `${Object.values(chaos.counts).reduce((a, b) => a + (b ?? 0), 0)} faults, ` +
          `worker live ${worker.stats().liveSessions}\n`,
      );
    }, 1_000);
    await waitUntil(
      () =>
        Date.now() - started >= maxProduceMs ||
        (Date.now() - started >= minProduceMs && sim.ledger.total() >= targetEvents),
      { timeoutMs: maxProduceMs + 5_000, what: "chaos: produce", pollMs: 200 },
    );
    clearInterval(progress);
    chaos.stop();
    sim.stopGenerator();
    // Repeats scheduled minutes ahead would be published after the worker stops: not a loss of the worker.
    sim.cancelPendingRepeats();
    const produceMs = Date.now() - started;
    // Let the worker take in what is still on the wire (lagging channels hold events up to 10 s).
    let lastIn = -1;
    let stableSince = Date.now();
    await waitUntil(
      () => {
        const eventsIn = worker.stats().eventsIn;
        if (eventsIn !== lastIn) {
          lastIn = eventsIn;
          stableSince = Date.now();
        }
        return Date.now() - stableSince >= 12_000;
      },
      { timeoutMs: 60_000, what: "chaos: worker quiet", pollMs: 200 },
    ).catch(() => {});
    const stop = await worker.stop(Date.now() + 90_000);
    workerStopped = true;
    const workerStats = worker.stats();
    const messages = await queueContents(emulators.fauxqs, emulators.queueName, s3);
    const result = reconcile(sim.ledger.published(), messages, { sampleLimit: Number.MAX_SAFE_INTEGER });
    reportLosses(result.lostSample, result.lostUncovered, started, [...sim.ledger.published()], messages);
    reportDuplicates(started, [...sim.ledger.published()], messages);
    const faults: Record<string, number> = {};
    for (const kind of CHAOS_FAULT_KINDS) faults[`chaos.faults.${kind}`] = chaos.counts[kind] ?? 0;
    return {
      "chaos.seed": seed,
      "chaos.published": result.published,
      "chaos.delivered": result.delivered,
      "chaos.lost": result.lost,
      "chaos.lostUncovered": result.lostUncovered,
      "chaos.lostCoveredByGap": result.lostCoveredByGap,
      "chaos.duplicatesInQueue": result.duplicates,
      "chaos.duplicatesMarkedPossible": result.duplicatesMarked,
      "chaos.unmarkedDuplicatesInQueue": result.duplicates - result.duplicatesMarked,
      "chaos.unknownInQueue": result.unknown,
      "chaos.identicalPublished": result.identicalPublished,
      "chaos.identicalDelivered": result.identicalDelivered,
      "chaos.identicalMissing": result.identicalPublished - result.identicalDelivered,
      "chaos.identicalMissingUncovered": result.identicalLostUncovered,
      "chaos.gaps": result.gaps,
      "chaos.gapMs": result.gapMs,
      "chaos.faults": Object.values(faults).reduce((a, b) => a + b, 0),
      "chaos.faultKindsBelowTwice": Object.values(faults).filter((n) => n < 2).length,
      ...faults,
      "chaos.rotations": workerStats.rotations,
      "chaos.produceSeconds": Math.round(produceMs / 100) / 10,
      "chaos.drainedBeforeStop": stop.drained ? 1 : 0,
    };
  } finally {
    if (!workerStopped) await worker.stop(Date.now() + 5_000).catch(() => {});
    await sim.close();
    s3.destroy();
    await emulators.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

/** Uncovered losses as runs (topic, from, to, count) relative to the start, so each can be set against the fault log. */
function reportLosses(
  lost: PublishedRecord[],
  uncovered: number,
  startedMs: number,
  published: PublishedRecord[],
  messages: QueuedMessage[],
): void {
  const runs: { topic: string; from: number; to: number; count: number }[] = [];
  const sorted = lost.slice(0, uncovered).sort((a, b) => a.publishedAt - b.publishedAt);
  for (const e of sorted) {
    const at = e.publishedAt - startedMs;
    const run = runs.findLast((r) => r.topic === e.topic);
    if (run && at - run.to <= 1_000) {
      run.to = at;
      run.count += 1;
    } else runs.push({ topic: e.topic, from: at, to: at, count: 1 });
  }
  for (const r of runs.slice(0, 200)) {
    process.stderr.write(
      `[chaos] lost uncovered ${r.count} on ${r.topic} published ${(r.from / 1000).toFixed(1)}..${(r.to / 1000).toFixed(1)} s\n`,
    );
  }
  // A lost event with identical twins: when each of them was published (which one is missing cannot be told).
  for (const e of sorted.slice(0, 50)) {
    if (e.contentKey === undefined) continue;
    const twins = published.filter((p) => p.contentKey === e.contentKey);
    if (twins.length < 2) continue;
    const times = twins.map((p) => ((p.publishedAt - startedMs) / 1000).toFixed(3)).join(", ");
    const copies = messages
      .filter((m): m is QueuedEventMessage => m.kind === "event")
      .filter((m) => envelopeContentKey(m.event) === e.contentKey)
      .map((m) => {
        const at = ((Date.parse(m.receivedAt) - startedMs) / 1000).toFixed(3);
        return m.possibleDuplicate ? `${at} (possibleDuplicate)` : at;
      });
    process.stderr.write(
      `[chaos] lost one of ${twins.length} identical events on ${e.topic}, published at ${times} s; ` +
        `copies received at ${copies.join(", ") || "-"} s\n`,
    );
  }
}

/** Contents queued more often than published: when each copy was received, so a duplicate's cause can be traced. */
function reportDuplicates(startedMs: number, published: PublishedRecord[], messages: QueuedMessage[]): void {
  const publishedTimes = new Map<string, number[]>();
  for (const p of published) {
    if (p.contentKey !== undefined) appendTo(publishedTimes, p.contentKey, p.publishedAt);
  }
  const copies = new Map<string, QueuedEventMessage[]>();
  for (const m of messages) if (m.kind === "event") appendTo(copies, envelopeContentKey(m.event), m);
  const rel = (ms: number) => ((ms - startedMs) / 1000).toFixed(3);
  let reported = 0;
  for (const [key, queued] of copies) {
    const times = publishedTimes.get(key) ?? [];
    if (queued.length <= times.length || reported++ >= 50) continue;
    const got = queued
      .map((m) => `${rel(Date.parse(m.receivedAt))}${m.possibleDuplicate ? " (possibleDuplicate)" : ""}`)
      .join(", ");
    process.stderr.write(
      `[chaos] duplicate on ${queued[0]!.event.topicName}: published at ${times.map(rel).join(", ")} s; ` +
        `copies received at ${got} s\n`,
    );
  }
}

function appendTo<T>(groups: Map<string, T[]>, key: string, value: T): void {
  const group = groups.get(key);
  if (group) group.push(value);
  else groups.set(key, [value]);
}
