/**
 * Scale-out past one task and one OAuth client: `shards` (3) shard workers, each with its own OAuth client
 * of the simulator and a disjoint topic set of `topicsPerShard` (1,020: two channels per session, the
 * worker's 1,000-topics-per-channel split included), 3,060 topics in all, redundancy 2, all writing to one
 * FIFO queue, as the shards of one stack do. In one process: simulator, fauxqs, the three workers.
 * The simulator publishes `rounds` events on every topic (spread over time), then each worker drains.
 * - `scale.shards`, `scale.topics`: what ran; `scale.emitted`: events the simulator published.
 * - `scale.lost`: published events not in the queue; `scale.lostUncovered`: those of them not inside a
 *   `tokenstream.gap` the workers recorded for their topic (goal 0); `scale.gaps`: gap messages.
 * - `scale.duplicatesInQueue`: extra copies of an event in the queue.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { QueuedGapMessage, QueuedMessage } from "../../shared/contracts.ts";
import { startSimulator } from "../../sim/index.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startEmulators } from "../../tools/local/emulators.ts";
import { eventIdentity } from "../../tools/local/reconcile.ts";
import { silentWorkerTelemetry } from "../../tools/local/silent-telemetry.ts";
import { waitUntil } from "../../tools/wait-until.ts";
import { type RunningWorker, startWorker } from "../../worker/app.ts";
import { loadWorkerConfig } from "../../worker/config.ts";

export interface ScaleOptions {
  shards?: number;
  topicsPerShard?: number;
  rounds?: number;
  /** Pause between publishing rounds. */
  roundGapMs?: number;
}

export async function runScale(options: ScaleOptions = {}): Promise<Record<string, number>> {
  const shardCount = options.shards ?? 3;
  const perShard = options.topicsPerShard ?? 1_020;
  const rounds = options.rounds ?? 3;
  const shards = Array.from({ length: shardCount }, (_, s) => ({
    client: { clientId: `scale-shard-${s}`, clientSecret: `scale-shard-${s}-secret` },
    topics: Array.from({ length: perShard }, (_, t) => `v2.users.s${s}-u${t}.presence`),
  }));
  const allTopics = shards.flatMap((s) => s.topics);
  const emulators = await startEmulators();
  const sim = await startSimulator({
    clients: shards.map((s) => s.client),
    tokenLifetimeSec: 3_600,
    heartbeatIntervalMs: 5_000,
    seed: 13,
  });
  const dir = mkdtempSync(join(tmpdir(), "tokenstream-scale-"));
  const workers: RunningWorker[] = [];
  try {
    for (const [s, shard] of shards.entries()) {
      const sqs = new SQSClient({
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        endpoint: emulators.sqsEndpoint,
      });
      workers.push(
        await startWorker(
          loadWorkerConfig({
            SOURCE_KIND: "genesys",
            GENESYS_API_URL: sim.apiUrl,
            GENESYS_LOGIN_URL: sim.loginUrl,
            TOKEN_SOURCE: "direct",
            GENESYS_CLIENT_ID: shard.client.clientId,
            GENESYS_CLIENT_SECRET: shard.client.clientSecret,
            TOPICS: shard.topics.join(","),
            REDUNDANCY: "2",
            QUEUE_URL: emulators.queueUrl,
            AWS_REGION: LOCAL_REGION,
            AWS_ENDPOINT_URL: emulators.sqsEndpoint,
            SPOOL_DIR: join(dir, `shard-${s}`),
            LOG_LEVEL: "SILENT",
          }),
          { sqs, telemetry: silentWorkerTelemetry(), health: false },
        ),
      );
    }
    await waitUntil(() => workers.every((w) => w.stats().liveSessions >= 2), {
      timeoutMs: 60_000,
      what: "scale: every shard worker live",
      pollMs: 100,
    });
    for (let round = 0; round < rounds; round++) {
      for (const topic of allTopics) sim.publish(topic);
      await new Promise((resolve) => setTimeout(resolve, options.roundGapMs ?? 1_000));
    }
    const emitted = sim.ledger.emitted();
    await waitUntil(() => workers.reduce((n, w) => n + w.stats().eventsOut, 0) >= emitted.length, {
      timeoutMs: 60_000,
      what: "scale: workers caught up",
      pollMs: 100,
    }).catch(() => {});
    const stops = await Promise.all(workers.splice(0).map((w) => w.stop(Date.now() + 60_000)));

    const queue = emulators.fauxqs.inspectQueue(emulators.queueName);
    const messages = (
      queue ? [...queue.messages.ready, ...queue.messages.inflight.map((e) => e.message)] : []
    ).map((m) => JSON.parse(m.body) as QueuedMessage);
    const copies = new Map<string, number>();
    const gaps: QueuedGapMessage[] = [];
    for (const message of messages) {
      if (message.kind === "gap") gaps.push(message);
      const id = eventIdentity(message);
      if (id) copies.set(id, (copies.get(id) ?? 0) + 1);
    }
    let lost = 0;
    let lostUncovered = 0;
    for (const e of emitted) {
      if (copies.has(`c:${e.correlationId}`)) continue;
      lost++;
      const covered = gaps.some(
        (g) =>
          g.topics.includes(e.topic) &&
          Date.parse(g.start) <= e.emittedAt &&
          e.emittedAt <= Date.parse(g.end),
      );
      if (!covered) lostUncovered++;
    }
    const duplicates = [...copies.values()].reduce((n, c) => n + c - 1, 0);
    return {
      "scale.shards": shardCount,
      "scale.topics": allTopics.length,
      "scale.oauthClients": shards.length,
      "scale.emitted": emitted.length,
      "scale.lost": lost,
      "scale.lostUncovered": lostUncovered,
      "scale.gaps": gaps.length,
      "scale.duplicatesInQueue": duplicates,
      "scale.drained": stops.every((s) => s.drained) ? 1 : 0,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop(Date.now() + 5_000).catch(() => undefined)));
    await sim.close();
    await emulators.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
