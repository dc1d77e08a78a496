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
 *   per round trip (a group has one batch in flight at a time).
 * - `e2eAt20msEventsPerSec`: 100 topics, the sink kept busy (the producer tops it up to 5,000 waiting
 *   entries) for `measureMs` after a warm-up; messages acknowledged per second. Goal >= 10,000.
 * - `hotTopicAt20msEventsPerSec`: the same with one topic: at most 10 per round trip. Goal >= 450.
 * - `rssMbOverload`: input at twice the measured 100-topic rate for `overloadMs` (60 s); peak RSS of this
 *   process (goal < 300 MB). `overloadBacklogMessages` is what waited on the spool when the input stopped
 *   (the backlog is on disk, not in memory); afterwards everything is drained and `overloadLost` =
 *   submitted - in the queue (goal 0).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { QueuedEventMessage } from "../../shared/contracts.ts";
import { type FauxqsProcess, startFauxqsProcess } from "../../tools/bench/fauxqs-process-client.ts";
import { startLatencyProxyProcess } from "../../tools/bench/latency-proxy-client.ts";
import { sampleRss } from "../../tools/bench/process-stats.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../../tools/local/emulators.ts";
import { eventMessage } from "../../worker/core/message.ts";
import { DEFAULT_INFLIGHT_MAX, DEFAULT_INFLIGHT_MIN } from "../../worker/sink/inflight-controller.ts";
import { SqsSink } from "../../worker/sink/sqs-sink.ts";

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
  sqs: SQSClient;
  dir: string;
  /** SendMessageBatch calls and the entries they carried. */
  sent: { calls: number; entries: number };
}

let queueCounter = 0;

export async function runSink(options: SinkBenchOptions = {}): Promise<Record<string, number>> {
  const delayMs = options.delayMs ?? 20;
  const fauxqs = await startFauxqsProcess();
  const proxy = await startLatencyProxyProcess({
    target: fauxqs.address,
    delayMs,
    jitterMs: options.jitterMs ?? 2,
  });
  const sockets = { keepAlive: true, maxSockets: DEFAULT_INFLIGHT_MAX + 8 };
  const sqs = new SQSClient({
    endpoint: proxy.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: { httpAgent: sockets, httpsAgent: sockets },
  });
  const dir = mkdtempSync(join(tmpdir(), "tokenstream-sink-bench-"));
  const rig: Rig = { fauxqs, sqs, dir, sent: { calls: 0, entries: 0 } };
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
    const overload = await measureOverload(rig, topics, 2 * wide.perSec, options.overloadMs ?? 60_000);
    return {
      "sink.delayMs": delayMs,
      "sink.maxInFlight": DEFAULT_INFLIGHT_MAX,
      "sink.theoreticalAt20ms": Math.round(
        (Math.min(DEFAULT_INFLIGHT_MAX, topics.length) * MAX_BATCH * 1000) / delayMs,
      ),
      "sink.e2eAt20msEventsPerSec": Math.round(wide.perSec),
      "sink.e2eInFlightReached": wide.inFlightLimit,
      "sink.e2eEntriesPerBatch": Math.round(wide.entriesPerBatch * 10) / 10,
      "sink.hotTopicTheoreticalAt20ms": Math.round((MAX_BATCH * 1000) / delayMs),
      "sink.hotTopicAt20msEventsPerSec": Math.round(hot.perSec),
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

function makeSink(rig: Rig, queueUrl: string, onDelivered: () => void): SqsSink {
  return new SqsSink({
    sqs: rig.sqs,
    queueUrl,
    spoolDir: mkdtempSync(join(rig.dir, "spool-")),
    inFlight: { min: DEFAULT_INFLIGHT_MIN, max: DEFAULT_INFLIGHT_MAX },
    metrics: {
      count: (name, n = 1) => {
        if (name === "EventsOut") for (let i = 0; i < n; i++) onDelivered();
      },
      gauge: () => {},
      timing: () => {},
    },
  });
}

/** A realistic small notification (a presence change), with a unique key per event. */
function event(topic: string, i: number): QueuedEventMessage {
  const env = {
    topicName: topic,
    version: "2",
    eventBody: {
      id: `user-${i % 997}`,
      presenceDefinition: { id: "6a3af858", systemPresence: "Available" },
      i,
    },
    metadata: { CorrelationId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` },
  };
  return eventMessage(env, `${topic}#${i}`, Date.now());
}

async function measureRate(
  rig: Rig,
  topics: string[],
  timing: { warmUpMs: number; measureMs: number },
): Promise<{ perSec: number; inFlightLimit: number; entriesPerBatch: number }> {
  const name = `sink-bench-${++queueCounter}.fifo`;
  const queueUrl = await rig.fauxqs.createQueue(name, true);
  let delivered = 0;
  const sink = makeSink(rig, queueUrl, () => delivered++);
  let submitted = 0;
  let producing = true;
  const produce = (): void => {
    if (!producing) return;
    while (sink.depth() < TOP_UP_TO) {
      sink.submit(event(topics[submitted % topics.length]!, submitted));
      submitted++;
    }
    setTimeout(produce, 1);
  };
  produce();
  await sleep(timing.warmUpMs);
  const before = delivered;
  const sentBefore = { ...rig.sent };
  const started = performance.now();
  await sleep(timing.measureMs);
  const perSec = (delivered - before) / ((performance.now() - started) / 1000);
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
  return { perSec, inFlightLimit, entriesPerBatch };
}

async function measureOverload(
  rig: Rig,
  topics: string[],
  inputPerSec: number,
  durationMs: number,
): Promise<{ peakRssMb: number; backlogMessages: number; submitted: number; lost: number }> {
  const name = `sink-overload-${++queueCounter}.fifo`;
  const queueUrl = await rig.fauxqs.createQueue(name, true);
  const sink = makeSink(rig, queueUrl, () => {});
  const rss = sampleRss(process.pid);
  let submitted = 0;
  const started = performance.now();
  const tickMs = 10;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.floor((inputPerSec * Math.min(elapsed, durationMs)) / 1000);
      while (submitted < due) {
        sink.submit(event(topics[submitted % topics.length]!, submitted));
        submitted++;
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, tickMs);
  });
  const backlogMessages = sink.spoolBacklog().messages;
  const { drained } = await sink.drain(Date.now() + 600_000);
  rss.stop();
  await sink.close();
  const landed = await rig.fauxqs.count(name);
  if (!drained) throw new Error(`sink overload: not drained within 10 minutes (${landed} of ${submitted})`);
  return { peakRssMb: rss.peak(), backlogMessages, submitted, lost: submitted - landed };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
