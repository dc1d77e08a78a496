/**
 * The SQS sink at a realistic SQS latency. fauxqs answers on loopback in well under a millisecond; a real
 * in-region SQS takes tens of milliseconds per SendMessageBatch. Here a latency proxy (its own process,
 * tools/bench/latency-proxy.ts) holds every answer of fauxqs (its own process) for `delayMs` (20 ms) +
 * up to `jitterMs`, and the sink runs in this process exactly as the worker builds it (adaptive in-flight
 * window between SINK_MIN/MAX_IN_FLIGHT defaults, an SQS client with a socket per batch in flight).
 * The sink is fed directly (the receive side is measured by the throughput scenario), so these figures are
 * what one task's sink delivers: from submit() until SQS has acknowledged.
 *
 * - `theoreticalAt20ms`: the bound for the limits and group count: min(max in flight, groups) batches of 10
 *   per round trip (a group has one batch on the wire at a time). The round trip in these bounds is the
 *   proxy's mean hold, `delayMs` + `jitterMs` / 2 (21 ms): the mean jitter is included, the loopback and
 *   HTTP handling on either side are not.
 * - `e2eAt20msEventsPerSec`: 100 topics, the sink kept busy (the producer tops it up to 5,000 waiting
 *   entries) for `measureMs` after a warm-up; messages acknowledged per second. Goal >= 10,000.
 * - `hotTopicAt20msEventsPerSec`: the same with one topic: at most 10 per round trip
 *   (`hotTopicTheoreticalAt20ms`). Goal >= 450 (0.9 x 10 per 20 ms, the delay without its jitter);
 *   `hotTopicVsBound` is the rate over the bound at the proxy's mean hold (jitter included), goal >= 0.9.
 *   `hotTopicProxyHoldMs` is the proxy's measured mean hold meanwhile (request in to answer out), and
 *   `hotTopicRoundTripMs` the mean time per batch the sink achieved (10 / rate): what lies between the two is
 *   the sink's own turnaround plus loopback and HTTP.
 * - `rssMbOverload`: input at twice the measured 100-topic rate for `overloadMs` (60 s), in a process of its
 *   own bundled and run like the worker, with the worker's NODE_OPTIONS for a default-sized task
 *   (bench/support/sink-overload-process.ts, shared/worker-runtime.ts); its peak RSS (goal < 300 MB).
 *   `overloadBacklogMessages` is what waited on the spool when the input stopped (the backlog is on disk,
 *   not in memory); afterwards everything is drained and `overloadLost` =
 *   submitted - in the queue (goal 0).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { DEFAULT_WORKER_MEMORY_MIB, workerRuntimeEnvironment } from "../../shared/worker-runtime.ts";
import { bundleForNode } from "../../tools/bench/bundle-worker.ts";
import { type FauxqsProcess, startFauxqsProcess } from "../../tools/bench/fauxqs-process-client.ts";
import {
  type LatencyProxyProcess,
  startLatencyProxyProcess,
} from "../../tools/bench/latency-proxy-client.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../../tools/local/emulators.ts";
import { DEFAULT_INFLIGHT_MAX } from "../../worker/sink/inflight-controller.ts";
import {
  benchEvent,
  benchSink,
  benchSqsClient,
  type OverloadResult,
  type OverloadSpec,
} from "../support/sink-load.ts";

export interface SinkBenchOptions {
  delayMs?: number;
  jitterMs?: number;
  warmUpMs?: number;
  measureMs?: number;
  overloadMs?: number;
}

const MAX_BATCH = 10;
const TOP_UP_TO = 5_000;

interface Rig {
  fauxqs: FauxqsProcess;
  proxy: LatencyProxyProcess;
  sqs: SQSClient;
  dir: string;
  /** SendMessageBatch calls and the entries they carried. */
  sent: { calls: number; entries: number };
}

let queueCounter = 0;

export async function runSink(options: SinkBenchOptions = {}): Promise<Record<string, number>> {
  const delayMs = options.delayMs ?? 20;
  const jitterMs = options.jitterMs ?? 2;
  const meanHoldMs = delayMs + jitterMs / 2;
  const fauxqs = await startFauxqsProcess();
  const proxy = await startLatencyProxyProcess({ target: fauxqs.address, delayMs, jitterMs });
  const sqs = benchSqsClient(proxy.url, LOCAL_CREDENTIALS, LOCAL_REGION);
  const dir = mkdtempSync(join(tmpdir(), "tokenstream-sink-bench-"));
  const rig: Rig = { fauxqs, proxy, sqs, dir, sent: { calls: 0, entries: 0 } };
  const send = sqs.send.bind(sqs) as (command: unknown, options?: unknown) => Promise<unknown>;
  (sqs as unknown as { send: typeof send }).send = (command, opts) => {
    rig.sent.calls++;
    rig.sent.entries += (command as { input: { Entries?: unknown[] } }).input.Entries?.length ?? 0;
    return send(command, opts);
  };
  try {
    const topics = Array.from({ length: 100 }, (_, i) => `v2.users.bench-${i}.presence`);
    const timing = { warmUpMs: options.warmUpMs ?? 2_000, measureMs: options.measureMs ?? 8_000 };
    const wide = await measureRate(rig, topics, timing);
    const hot = await measureRate(rig, ["v2.routing.queues.hot.conversations"], timing);
    const overload = await measureOverload(
      rig,
      proxy.url,
      topics,
      2 * wide.perSec,
      options.overloadMs ?? 60_000,
    );
    // One group, one batch of 10 per round trip.
    const hotBound = (MAX_BATCH * 1000) / meanHoldMs;
    return {
      "sink.delayMs": delayMs,
      "sink.jitterMs": jitterMs,
      "sink.maxInFlight": DEFAULT_INFLIGHT_MAX,
      "sink.theoreticalAt20ms": Math.round(
        (Math.min(DEFAULT_INFLIGHT_MAX, topics.length) * MAX_BATCH * 1000) / meanHoldMs,
      ),
      "sink.e2eAt20msEventsPerSec": Math.round(wide.perSec),
      "sink.e2eInFlightReached": wide.inFlightLimit,
      "sink.e2eEntriesPerBatch": Math.round(wide.entriesPerBatch * 10) / 10,
      "sink.hotTopicTheoreticalAt20ms": Math.round(hotBound),
      "sink.hotTopicAt20msEventsPerSec": Math.round(hot.perSec),
      "sink.hotTopicVsBound": Math.round((hot.perSec / hotBound) * 100) / 100,
      "sink.hotTopicProxyHoldMs": Math.round(hot.proxyHoldMs * 100) / 100,
      "sink.hotTopicRoundTripMs": Math.round(((MAX_BATCH * 1000) / hot.perSec) * 100) / 100,
      "sink.overloadInputPerSec": Math.round(2 * wide.perSec),
      "sink.rssMbOverload": Math.round(overload.peakRssMb),
      "sink.overloadBacklogMessages": overload.backlogMessages,
      "sink.overloadSubmitted": overload.submitted,
      "sink.overloadLost": overload.lost,
    };
  } finally {
    sqs.destroy();
    await proxy.close();
    await fauxqs.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureRate(
  rig: Rig,
  topics: string[],
  timing: { warmUpMs: number; measureMs: number },
): Promise<{ perSec: number; inFlightLimit: number; entriesPerBatch: number; proxyHoldMs: number }> {
  const name = `sink-bench-${++queueCounter}.fifo`;
  const queueUrl = await rig.fauxqs.createQueue(name, true);
  let delivered = 0;
  const sink = benchSink(rig.sqs, queueUrl, rig.dir, {
    count: (name, n = 1) => {
      if (name === "EventsOut") delivered += n;
    },
    gauge: () => {},
    timing: () => {},
  });
  let submitted = 0;
  let producing = true;
  const produce = (): void => {
    if (!producing) return;
    while (sink.depth() < TOP_UP_TO) {
      sink.submit(benchEvent(topics[submitted % topics.length]!, submitted));
      submitted++;
    }
    setTimeout(produce, 1);
  };
  produce();
  await sleep(timing.warmUpMs);
  const before = delivered;
  const sentBefore = { ...rig.sent };
  const heldBefore = await rig.proxy.held();
  const started = performance.now();
  await sleep(timing.measureMs);
  const perSec = (delivered - before) / ((performance.now() - started) / 1000);
  const heldAfter = await rig.proxy.held();
  const proxyHoldMs =
    (heldAfter.totalMs - heldBefore.totalMs) / Math.max(1, heldAfter.answers - heldBefore.answers);
  const entriesPerBatch =
    (rig.sent.entries - sentBefore.entries) / Math.max(1, rig.sent.calls - sentBefore.calls);
  const inFlightLimit = sink.inFlightLimit();
  producing = false;
  const { drained } = await sink.drain(Date.now() + 120_000);
  await sink.close();
  const landed = await rig.fauxqs.count(name);
  if (!drained || landed !== submitted) {
    throw new Error(`sink bench: ${landed} of ${submitted} messages in the queue (drained ${drained})`);
  }
  return { perSec, inFlightLimit, entriesPerBatch, proxyHoldMs };
}

async function measureOverload(
  rig: Rig,
  endpoint: string,
  topics: string[],
  inputPerSec: number,
  durationMs: number,
): Promise<OverloadResult & { lost: number }> {
  const name = `sink-overload-${++queueCounter}.fifo`;
  const spec: OverloadSpec = {
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    queueUrl: await rig.fauxqs.createQueue(name, true),
    dir: rig.dir,
    topics,
    inputPerSec,
    durationMs,
  };
  const bundle = await bundleForNode(
    fileURLToPath(new URL("../support/sink-overload-process.ts", import.meta.url)),
  );
  try {
    const child = spawn(process.execPath, [bundle.file], {
      stdio: ["ignore", "pipe", "inherit"],
      // Node set up as in a default-sized worker task (shared/worker-runtime.ts).
      env: {
        PATH: process.env.PATH ?? "",
        ...workerRuntimeEnvironment(DEFAULT_WORKER_MEMORY_MIB),
        SINK_OVERLOAD_SPEC: JSON.stringify(spec),
      },
    });
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    if (code !== 0) throw new Error(`sink overload process exited with ${code}`);
    const result = JSON.parse(out) as OverloadResult;
    if (!result.drained) throw new Error("sink overload: not drained within 10 minutes");
    const landed = await rig.fauxqs.count(name);
    return { ...result, lost: result.submitted - landed };
  } finally {
    rmSync(bundle.dir, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
