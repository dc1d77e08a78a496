/**
 * Restart: what a task's death costs. The simulator (in this process) emits 20 events/s on each of 3
 * topics; worker processes (worker/main.ts through tsx) run with the durable backlog and coverage ledger
 * (S3 and DynamoDB on a moto server), SQS is fauxqs behind a switchable proxy. After 10 s SQS becomes
 * unreachable for 60 s; the worker is SIGKILLed every 20 s (at 15, 35 and 55 s, inside the outage) and a
 * new process on fresh local storage is started at once (as ECS would, only faster). SQS comes back at
 * 70 s; generation stops at 90 s; the last worker gets up to 40 s to deliver everything.
 * - `restart.published`: events the simulator emitted (whether or not a socket was there);
 *   `restart.delivered`: distinct events in the queue; `restart.duplicatesInQueue`: extra copies.
 * - `restart.lostUncovered`: published events missing from the queue that no `tokenstream.gap` message
 *   covers for their topic (tools/local/reconcile.ts; goal 0: loss only inside a recorded gap).
 * - `restart.gapsRecorded` / `restart.gapMsRecorded`: gap messages in the queue after the first worker
 *   went live, and their total length; `restart.downtimeMsMeasured`: the sum, over the kills, of kill to
 *   the next worker reporting a live session on /healthz (polled every 50 ms: slightly late by nature).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { QueuedGapMessage, QueuedMessage } from "../../shared/contracts.ts";
import { startSimulator } from "../../sim/index.ts";
import { startProxy } from "../../test/worker/integration/tcp-proxy.ts";
import { spawnWorker } from "../../test/worker/integration/worker-process.ts";
import { startFauxqsProcess } from "../../tools/bench/fauxqs-process-client.ts";
import { stopChild } from "../../tools/bench/stop-child.ts";
import { freePort } from "../../tools/free-port.ts";
import { createCoverageTable } from "../../tools/local/dynamodb-tables.ts";
import { reconcile } from "../../tools/local/reconcile.ts";
import { waitUntil } from "../../tools/wait-until.ts";
import { startMotoServer } from "../support/moto-server.ts";

export interface RestartOptions {
  topics?: number;
  ratePerTopic?: number;
  outageStartMs?: number;
  outageMs?: number;
  killEveryMs?: number;
  produceMs?: number;
}

const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export async function runRestart(options: RestartOptions = {}): Promise<Record<string, number>> {
  const topics = Array.from({ length: options.topics ?? 3 }, (_, i) => `v2.restart.topic${i + 1}`);
  const outageStartMs = options.outageStartMs ?? 10_000;
  const outageMs = options.outageMs ?? 60_000;
  const killEveryMs = options.killEveryMs ?? 20_000;
  const produceMs = options.produceMs ?? 90_000;
  const dirs: string[] = [];
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000, tokenLifetimeSec: 30, seed: 20261204 });
  const fauxqs = await startFauxqsProcess();
  const moto = await startMotoServer();
  const proxy = await startProxy(fauxqs.address);
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: CREDENTIALS,
    forcePathStyle: true,
  });
  const dynamodb = new DynamoDBClient({
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: CREDENTIALS,
  });
  const workers: ReturnType<typeof spawnWorker>[] = [];
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "restart-backlog" }));
    await createCoverageTable(dynamodb, "restart-coverage");
    const queueUrl = await fauxqs.createQueue("restart.fifo", true);
    let n = 0;
    const start = async () => {
      const spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-restart-"));
      dirs.push(spoolDir);
      const healthPort = await freePort();
      const w = spawnWorker({
        SOURCE_KIND: "genesys",
        GENESYS_API_URL: sim.apiUrl,
        GENESYS_LOGIN_URL: sim.loginUrl,
        TOPICS: topics.join(","),
        REDUNDANCY: "2",
        TOKEN_SOURCE: "direct",
        GENESYS_CLIENT_ID: "sim-client",
        GENESYS_CLIENT_SECRET: "sim-secret",
        QUEUE_URL: queueUrl,
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL: proxy.url,
        AWS_ENDPOINT_URL_S3: moto.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        BACKLOG_BUCKET: "restart-backlog",
        COVERAGE_TABLE: "restart-coverage",
        COVERAGE_SCOPE: "restart",
        COVERAGE_HEARTBEAT_MS: "1000",
        COVERAGE_STALE_MS: "4000",
        BACKLOG_FLUSH_MS: "500",
        TASK_ID: `restart-${++n}`,
        SPOOL_DIR: spoolDir,
        HEALTH_PORT: String(healthPort),
        HEARTBEAT_TIMEOUT_MS: "3000",
        BACKOFF_BASE_MS: "100",
        BACKOFF_CAP_MS: "2000",
        LOG_LEVEL: "ERROR",
        POWERTOOLS_METRICS_DISABLED: "true",
      });
      workers.push(w);
      return { w, healthPort };
    };
    const live = async (port: number): Promise<boolean> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
        return ((await res.json()) as { liveSessions: number }).liveSessions >= 1;
      } catch {
        return false;
      }
    };

    let current = await start();
    await waitUntil(() => live(current.healthPort), {
      timeoutMs: 60_000,
      what: "restart: first worker live",
      pollMs: 50,
    });
    const firstLiveAt = Date.now();
    sim.startGenerator(options.ratePerTopic ?? 20);
    const t0 = Date.now();
    const at = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, t0 + ms - Date.now())));
    let downtimeMs = 0;
    let kills = 0;
    await at(outageStartMs);
    proxy.down();
    for (let k = outageStartMs + killEveryMs / 4; k < outageStartMs + outageMs; k += killEveryMs) {
      await at(k);
      const killedAt = Date.now();
      current.w.child.kill("SIGKILL");
      await current.w.exited;
      kills++;
      current = await start();
      const next = current;
      await waitUntil(() => live(next.healthPort), {
        timeoutMs: 60_000,
        what: "restart: replacement live",
        pollMs: 50,
      });
      downtimeMs += Date.now() - killedAt;
    }
    await at(outageStartMs + outageMs);
    proxy.up();
    await at(produceMs);
    sim.stopGenerator();
    const published = sim.ledger.total();
    const queued = async (): Promise<QueuedMessage[]> =>
      (await fauxqs.bodies("restart.fifo", 10_000_000)).map((b) => JSON.parse(b) as QueuedMessage);
    await waitUntil(
      async () =>
        reconcile(sim.ledger.published(), await queued()).delivered >= sim.ledger.summary().delivered,
      { timeoutMs: 40_000, what: "restart: backlog delivered", pollMs: 500 },
    ).catch(() => {});
    await new Promise((r) => setTimeout(r, 2_000)); // the last gap claim, if any, lands
    const messages = await queued();
    const result = reconcile(sim.ledger.published(), messages);
    const gaps = messages.filter((m): m is QueuedGapMessage => m.kind === "gap");
    const afterStart = gaps.filter((g) => Date.parse(g.end) > firstLiveAt);
    return {
      "restart.published": published,
      "restart.delivered": result.delivered,
      "restart.lost": result.lost,
      "restart.lostUncovered": result.lostUncovered,
      "restart.duplicatesInQueue": result.duplicates,
      "restart.kills": kills,
      "restart.gapsRecorded": afterStart.length,
      "restart.gapMsRecorded": afterStart.reduce((sum, g) => sum + g.durationMs, 0),
      "restart.downtimeMsMeasured": downtimeMs,
    };
  } finally {
    for (const w of workers) await stopChild(w.child, 5_000).catch(() => {});
    await proxy.close();
    await sim.close();
    await fauxqs.close();
    await moto.stop();
    s3.destroy();
    dynamodb.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
