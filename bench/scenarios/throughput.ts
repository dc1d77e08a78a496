/**
 * Throughput, measured side by side in one run with the simulator in its own process as the sender:
 * - worker core (session + parse + de-dup + message build) into a null sink vs a raw `ws` client that only
 *   receives and JSON-parses the same frames (one socket each);
 * - end to end: the worker as its own process (worker/main.ts, redundancy 2) into fauxqs vs fauxqs's own
 *   SendMessageBatch ceiling with the same message sizes and the same number of batches in flight;
 * - peak RSS of that worker process while the simulator generates 5,000 events/s.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateQueueCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import WebSocket from "ws";
import type { QueuedMessage } from "../../shared/contracts.ts";
import { startSimProcess } from "../../tools/bench/sim-process-client.ts";
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalEmulators,
  startEmulators,
} from "../../tools/local/emulators.ts";
import { silentWorkerTelemetry } from "../../tools/local/silent-telemetry.ts";
import { startWorker } from "../../worker/app.ts";
import { loadWorkerConfig } from "../../worker/config.ts";
import type { EventSink } from "../../worker/core/event-sink.ts";
import { createSubscribedChannel, fetchToken } from "../baseline/naive-client.ts";

const TOPICS = ["v2.bench.a", "v2.bench.b", "v2.bench.c", "v2.bench.d", "v2.bench.e"];
const CLIENTS = {
  raw: { clientId: "bench-raw", clientSecret: "bench-raw-secret" },
  core: { clientId: "bench-core", clientSecret: "bench-core-secret" },
  e2e: { clientId: "bench-e2e", clientSecret: "bench-e2e-secret" },
};
/** The SQS sink's default number of batches in flight; the ceiling is measured with the same. */
const SINK_IN_FLIGHT = 4;

export interface ThroughputOptions {
  coreEvents?: number;
  e2eEvents?: number;
  rssRatePerSec?: number;
  rssSampleMs?: number;
}

export async function runThroughput(options: ThroughputOptions = {}): Promise<Record<string, number>> {
  const coreEvents = options.coreEvents ?? 40_000;
  const e2eEvents = options.e2eEvents ?? 12_000;
  const sim = await startSimProcess(Object.values(CLIENTS));
  const emulators = await startEmulators();
  const spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-throughput-"));
  let workerProcess: ChildProcess | undefined;
  try {
    const target = (client: { clientId: string; clientSecret: string }) => ({
      loginUrl: sim.loginUrl,
      apiUrl: sim.apiUrl,
      ...client,
      topics: TOPICS,
    });

    // 1. raw ws receive + JSON.parse
    const rawWsEventsPerSec = await measureRawWs(target(CLIENTS.raw), coreEvents, (count) =>
      sim.request({ cmd: "publish", count, topics: TOPICS }),
    );

    // 2. worker core with a null sink, in this process, one session
    const sink = new CountingNullSink();
    const core = await startWorker(
      loadWorkerConfig({
        GENESYS_API_URL: sim.apiUrl,
        GENESYS_LOGIN_URL: sim.loginUrl,
        TOKEN_SOURCE: "direct",
        GENESYS_CLIENT_ID: CLIENTS.core.clientId,
        GENESYS_CLIENT_SECRET: CLIENTS.core.clientSecret,
        TOPICS: TOPICS.join(","),
        REDUNDANCY: "1",
        QUEUE_URL: emulators.queueUrl,
        AWS_REGION: LOCAL_REGION,
        SPOOL_DIR: spoolDir,
        LOG_LEVEL: "SILENT",
      }),
      { sink, telemetry: silentWorkerTelemetry(), health: false },
    );
    await waitUntil(() => core.stats().liveSessions >= 1, 20_000, "core worker live");
    const coreStarted = performance.now();
    void sim.request({ cmd: "publish", count: coreEvents, topics: TOPICS });
    await waitUntil(() => sink.events >= coreEvents, 120_000, "core worker to receive all events", 5);
    const coreEventsPerSec = coreEvents / ((performance.now() - coreStarted) / 1000);
    await core.stop(Date.now() + 5_000);

    // 3. end to end: worker/main.ts as its own process into fauxqs
    const healthPort = await freePort();
    workerProcess = spawnWorkerProcess(sim, emulators, spoolDir, healthPort);
    const child = workerProcess;
    await waitUntilAsync(
      async () => (await sim.request({ cmd: "sockets" })) >= 2,
      30_000,
      "worker process live",
    );
    const queueCount = () => emulators.fauxqs.inspectQueue(emulators.queueName)?.messages.ready.length ?? 0;
    const e2eStarted = performance.now();
    void sim.request({ cmd: "publish", count: e2eEvents, topics: TOPICS });
    await waitUntil(() => queueCount() >= e2eEvents, 120_000, "all events in the queue", 20);
    const e2eEventsPerSec = e2eEvents / ((performance.now() - e2eStarted) / 1000);
    const sampleBodies = (emulators.fauxqs.inspectQueue(emulators.queueName)?.messages.ready ?? [])
      .slice(0, 100)
      .map((message) => message.body);

    // 4. fauxqs ceiling with the same bodies, batches of 10, same number in flight
    const fauxqsCeilingPerSec = await measureCeiling(emulators, sampleBodies, e2eEvents);

    // 5. RSS of the worker process at 5k events/s
    const rate = options.rssRatePerSec ?? 5_000;
    await sim.request({ cmd: "rate", ratePerTopic: rate / TOPICS.length });
    const rssMbAt5k = await peakRssMb(child.pid as number, options.rssSampleMs ?? 10_000);
    await sim.request({ cmd: "rate", ratePerTopic: 0 });

    return {
      "throughput.coreEventsPerSec": Math.round(coreEventsPerSec),
      "throughput.rawWsEventsPerSec": Math.round(rawWsEventsPerSec),
      "throughput.coreVsRawRatio": round2(coreEventsPerSec / rawWsEventsPerSec),
      "throughput.e2eEventsPerSec": Math.round(e2eEventsPerSec),
      "throughput.fauxqsCeilingPerSec": Math.round(fauxqsCeilingPerSec),
      "throughput.e2eVsCeilingRatio": round2(e2eEventsPerSec / fauxqsCeilingPerSec),
      "throughput.rssMbAt5k": Math.round(rssMbAt5k),
    };
  } finally {
    if (workerProcess) await stopProcess(workerProcess);
    await sim.close();
    await emulators.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

async function measureRawWs(
  target: Parameters<typeof fetchToken>[0],
  count: number,
  publish: (count: number) => Promise<number>,
): Promise<number> {
  const token = await fetchToken(target);
  const connectUri = await createSubscribedChannel(target, token);
  const ws = new WebSocket(connectUri, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let received = 0;
  ws.on("message", (data) => {
    const envelope = JSON.parse(data.toString()) as { topicName?: string };
    if (envelope.topicName !== "channel.metadata") received += 1;
  });
  const started = performance.now();
  void publish(count);
  await waitUntil(() => received >= count, 120_000, "raw client to receive all events", 5);
  const perSec = count / ((performance.now() - started) / 1000);
  ws.terminate();
  return perSec;
}

/** Accepts everything, delivers nowhere: isolates the worker's receive path from the queue. */
class CountingNullSink implements EventSink {
  events = 0;
  submit(message: QueuedMessage): void {
    if (message.kind !== "gap") this.events += 1;
  }
  depth(): number {
    return 0;
  }
  async drain(): Promise<{ drained: boolean; remaining: number }> {
    return { drained: true, remaining: 0 };
  }
  healthy(): boolean {
    return true;
  }
  async close(): Promise<void> {}
}

function spawnWorkerProcess(
  sim: { apiUrl: string; loginUrl: string },
  emulators: LocalEmulators,
  spoolDir: string,
  healthPort: number,
): ChildProcess {
  const main = fileURLToPath(new URL("../../worker/main.ts", import.meta.url));
  return spawn(process.execPath, ["--import", "tsx", main], {
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      SOURCE_KIND: "genesys",
      GENESYS_API_URL: sim.apiUrl,
      GENESYS_LOGIN_URL: sim.loginUrl,
      TOKEN_SOURCE: "direct",
      GENESYS_CLIENT_ID: CLIENTS.e2e.clientId,
      GENESYS_CLIENT_SECRET: CLIENTS.e2e.clientSecret,
      TOPICS: TOPICS.join(","),
      REDUNDANCY: "2",
      QUEUE_URL: emulators.queueUrl,
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL: emulators.sqsEndpoint,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      HEALTH_PORT: String(healthPort),
      SPOOL_DIR: join(spoolDir, "e2e"),
      SHUTDOWN_TIMEOUT_MS: "10000",
      METRICS_INTERVAL_MS: "3600000",
      LOG_LEVEL: "ERROR",
    },
  });
}

async function measureCeiling(emulators: LocalEmulators, bodies: string[], count: number): Promise<number> {
  if (bodies.length === 0) throw new Error("no sample messages to size the ceiling run");
  const { QueueUrl } = await emulators.sqs.send(
    new CreateQueueCommand({ QueueName: "ceiling.fifo", Attributes: { FifoQueue: "true" } }),
  );
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const first = next;
      next += 10;
      const entries = Array.from({ length: Math.min(10, count - first) }, (_, i) => ({
        Id: String(i),
        MessageBody: bodies[(first + i) % bodies.length] as string,
        MessageGroupId: TOPICS[(first + i) % TOPICS.length] as string,
        MessageDeduplicationId: `ceiling-${first + i}`,
      }));
      await emulators.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: SINK_IN_FLIGHT }, lane));
  return count / ((performance.now() - started) / 1000);
}

async function peakRssMb(pid: number, durationMs: number): Promise<number> {
  let peak = 0;
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
    peak = Math.max(peak, kb / 1024);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (peak === 0) throw new Error("could not read the worker process RSS (/proc)");
  return peak;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
  pollMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`throughput: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function waitUntilAsync(
  predicate: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`throughput: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
