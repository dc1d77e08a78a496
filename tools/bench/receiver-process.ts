/**
 * One receiver in its own process, for the receive-capacity comparison in bench/scenarios/throughput.ts:
 * - `raw`: a plain `ws` client that only receives and JSON-parses each frame (what any client must do);
 * - `core`: the worker (worker/app.ts, one session) into a null sink: session, frame parsing, de-dup and
 *   message building, no queue.
 * Each in a process of its own, so the CPU time it uses (GC included) is its own. Configured by
 * RECEIVER_SPEC (JSON); controlled over the fork IPC channel.
 */
import WebSocket from "ws";
import { createSubscribedChannel, fetchToken } from "../../bench/baseline/naive-client.ts";
import type { QueuedMessage } from "../../shared/contracts.ts";
import { startWorker } from "../../worker/app.ts";
import { loadWorkerConfig } from "../../worker/config.ts";
import type { EventSink } from "../../worker/core/event-sink.ts";
import { LOCAL_REGION } from "../local/emulators.ts";
import { silentWorkerTelemetry } from "../local/silent-telemetry.ts";

export interface ReceiverSpec {
  mode: "raw" | "core";
  loginUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  topics: string[];
  /** core only: where the (unused) spool may live. */
  spoolDir: string;
}

export type ReceiverCommand = { cmd: "count"; id: number };
export type ReceiverReply = { type: "ready" } | { type: "done"; id: number; value: number };

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

async function startRaw(spec: ReceiverSpec): Promise<() => number> {
  const token = await fetchToken(spec);
  const ws = new WebSocket(await createSubscribedChannel(spec, token), { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let received = 0;
  ws.on("message", (data) => {
    const envelope = JSON.parse(data.toString()) as { topicName?: string };
    if (envelope.topicName !== "channel.metadata") received += 1;
  });
  return () => received;
}

async function startCore(spec: ReceiverSpec): Promise<() => number> {
  const sink = new CountingNullSink();
  const worker = await startWorker(
    loadWorkerConfig({
      GENESYS_API_URL: spec.apiUrl,
      GENESYS_LOGIN_URL: spec.loginUrl,
      TOKEN_SOURCE: "direct",
      GENESYS_CLIENT_ID: spec.clientId,
      GENESYS_CLIENT_SECRET: spec.clientSecret,
      TOPICS: spec.topics.join(","),
      REDUNDANCY: "1",
      QUEUE_URL: "http://127.0.0.1:9/000000000000/unused.fifo",
      AWS_REGION: LOCAL_REGION,
      SPOOL_DIR: spec.spoolDir,
      LOG_LEVEL: "SILENT",
    }),
    { sink, telemetry: silentWorkerTelemetry(), health: false },
  );
  const deadline = Date.now() + 20_000;
  while (worker.stats().liveSessions < 1) {
    if (Date.now() > deadline) throw new Error("core receiver: no live session");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return () => sink.events;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.RECEIVER_SPEC ?? "{}") as ReceiverSpec;
  const received = spec.mode === "core" ? await startCore(spec) : await startRaw(spec);
  process.on("message", (command: ReceiverCommand) => {
    if (command.cmd === "count") process.send?.({ type: "done", id: command.id, value: received() });
  });
  process.on("disconnect", () => process.exit(0));
  // A normal exit, so --cpu-prof (BENCH_RECEIVER_NODE_ARGS) gets to write its profile.
  process.on("SIGTERM", () => process.exit(0));
  process.send?.({ type: "ready" } satisfies ReceiverReply);
}

void main();
