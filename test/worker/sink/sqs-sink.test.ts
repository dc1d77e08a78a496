import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { contentKey } from "../../../worker/core/content-identity.ts";
import { toGapMessage } from "../../../worker/core/gap-ledger.ts";
import { eventMessage, messageBody, toSqsEntry } from "../../../worker/core/message.ts";
import {
  DEAD_LETTER_FILE,
  ENTRY_OVERHEAD_BYTES,
  SqsSink,
  type SqsSinkOptions,
} from "../../../worker/sink/sqs-sink.ts";
import { s3Client, sqsClient, ToggleProxy, waitFor } from "./helpers.ts";

let server: FauxqsServer;
let proxy: ToggleProxy;
let proxyUrl: string;
const sinks: SqsSink[] = [];
const dirs: string[] = [];
let queueCounter = 0;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  proxy = new ToggleProxy(server.port);
  proxyUrl = await proxy.start();
});

afterEach(async () => {
  proxy.restore();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

afterAll(async () => {
  await proxy.stop();
  await server.stop();
});

function freshQueue(fifo = true): { name: string; url: string } {
  const name = `q${++queueCounter}${fifo ? ".fifo" : ""}`;
  const { queueUrl } = server.createQueue(name, fifo ? { attributes: { FifoQueue: "true" } } : undefined);
  return { name, url: queueUrl };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "sink-test-"));
  dirs.push(d);
  return d;
}

function makeSink(queueUrl: string, extra: Partial<SqsSinkOptions> = {}): SqsSink {
  const sink = new SqsSink({
    sqs: sqsClient(proxyUrl),
    queueUrl,
    spoolDir: extra.spoolDir ?? tempDir(),
    retry: { baseMs: 20, capMs: 200, floorMs: 10 },
    requestTimeoutMs: 2_000,
    ...extra,
  });
  sinks.push(sink);
  return sink;
}

function ev(topic: string, i: number, pad = 0): QueuedEventMessage {
  const env = {
    topicName: topic,
    eventBody: { i, pad: "x".repeat(pad) },
    metadata: { CorrelationId: `c-${topic}-${i}` },
  };
  return eventMessage(env, contentKey(env), Date.now());
}

interface Landed {
  body: QueuedMessage;
  group?: string;
  dedup?: string;
}

function landed(name: string): Landed[] {
  const q = server.inspectQueue(name);
  if (!q) throw new Error(`no queue ${name}`);
  return q.messages.ready.map((m) => ({
    body: JSON.parse(m.body) as QueuedMessage,
    group: m.messageGroupId,
    dedup: m.messageDeduplicationId,
  }));
}

function eventsOf(list: Landed[], topic: string): number[] {
  return list
    .map((l) => l.body)
    .filter((b): b is QueuedEventMessage => b.kind === "event" && b.event.topicName === topic)
    .map((b) => (b.event.eventBody as { i: number }).i);
}

describe("SqsSink against fauxqs", () => {
  it("sends in batches of at most 10 with FIFO group = topic and dedup id = key, order kept per topic", async () => {
    const q = freshQueue();
    const sqs = sqsClient(proxyUrl);
    const send = vi.spyOn(sqs, "send");
    const sink = makeSink(q.url, { sqs });
    const topics = ["v2.a", "v2.b", "v2.c"];
    const sent: QueuedEventMessage[] = [];
    for (let i = 0; i < 40; i++) {
      const m = ev(topics[i % 3]!, i);
      sent.push(m);
      sink.submit(m);
    }
    const result = await sink.drain(Date.now() + 10_000);
    expect(result).toEqual({ drained: true, remaining: 0 });
    const got = landed(q.name);
    expect(got).toHaveLength(40);
    for (const l of got) {
      const b = l.body as QueuedEventMessage;
      expect(l.group).toBe(b.event.topicName);
      expect(l.dedup).toBe(b.key);
    }
    for (const t of topics) {
      expect(eventsOf(got, t)).toEqual(
        sent.filter((m) => m.event.topicName === t).map((m) => (m.event.eventBody as { i: number }).i),
      );
    }
    const sizes = send.mock.calls.map((c) => (c[0].input as { Entries: unknown[] }).Entries.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(sizes.length).toBeLessThan(40);
    expect(sink.healthy()).toBe(true);
  });

  it("works with a standard queue (no group or dedup ids)", async () => {
    const q = freshQueue(false);
    const sink = makeSink(q.url);
    expect(sink.fifo).toBe(false);
    for (let i = 0; i < 25; i++) sink.submit(ev("t", i));
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    const got = landed(q.name);
    expect(got.map((l) => (l.body as QueuedEventMessage).event.eventBody).length).toBe(25);
    expect(got.every((l) => l.group === undefined)).toBe(true);
  });

  it("loses nothing while SQS is unreachable: spools, then drains in order per topic", async () => {
    const q = freshQueue();
    const spoolDir = tempDir();
    const sink = makeSink(q.url, { spoolDir, memoryLimit: 20 });
    const topics = ["t1", "t2", "t3"];
    for (let i = 0; i < 30; i++) sink.submit(ev(topics[i % 3]!, i));
    await waitFor(() => landed(q.name).length > 0, 5_000, "first deliveries");
    proxy.down();
    for (let i = 30; i < 300; i++) sink.submit(ev(topics[i % 3]!, i));
    await waitFor(() => !sink.healthy(), 5_000, "sink to notice SQS is down");
    await waitFor(() => proxy.connectionsRefused >= 3, 5_000, "a few failed attempts");
    expect(readdirSync(spoolDir).some((f) => f.startsWith("spool-"))).toBe(true);
    expect(sink.depth()).toBeGreaterThan(20);
    proxy.restore();
    expect(await sink.drain(Date.now() + 15_000)).toEqual({ drained: true, remaining: 0 });
    const got = landed(q.name);
    expect(got).toHaveLength(300);
    expect(new Set(got.map((l) => l.dedup)).size).toBe(300);
    for (const t of topics) {
      const expected = Array.from({ length: 300 }, (_, i) => i).filter((i) => topics[i % 3] === t);
      expect(eventsOf(got, t)).toEqual(expected);
    }
    expect(sink.healthy()).toBe(true);
    await waitFor(
      () => !readdirSync(spoolDir).some((f) => f.startsWith("spool-")),
      2_000,
      "spool cleaned up",
    );
  });

  it("spills to the spool when memory is full even while SQS works, and drains it in order", async () => {
    const q = freshQueue();
    const spoolDir = tempDir();
    const sink = makeSink(q.url, { spoolDir, memoryLimit: 5, maxInFlightBatches: 1 });
    for (let i = 0; i < 200; i++) sink.submit(ev("one", i));
    expect(sink.depth()).toBe(200);
    const spooled = readdirSync(spoolDir).filter((f) => f.startsWith("spool-"));
    expect(spooled).toHaveLength(1);
    expect(readFileSync(join(spoolDir, spooled[0]!), "utf8").trim().split("\n")).toHaveLength(195);
    expect((await sink.drain(Date.now() + 15_000)).drained).toBe(true);
    expect(eventsOf(landed(q.name), "one")).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("bounds memory by bytes as well as by entries: large messages spill early, then drain in order", async () => {
    const q = freshQueue();
    const spoolDir = tempDir();
    const big = (i: number) => ev("big", i, 20_000);
    const perEntry = toSqsEntry(big(0), { id: "0", fifo: true }).sizeBytes + ENTRY_OVERHEAD_BYTES;
    const sink = makeSink(q.url, { spoolDir, memoryLimitBytes: 3 * perEntry, maxInFlightBatches: 1 });
    for (let i = 0; i < 40; i++) sink.submit(big(i));
    expect(sink.depth()).toBe(40);
    const spooled = readdirSync(spoolDir).filter((f) => f.startsWith("spool-"));
    expect(spooled).toHaveLength(1);
    expect(readFileSync(join(spoolDir, spooled[0]!), "utf8").trim().split("\n")).toHaveLength(37);
    expect((await sink.drain(Date.now() + 15_000)).drained).toBe(true);
    expect(eventsOf(landed(q.name), "big")).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("replays a spool left by a crashed process first (torn last line quarantined, not lost)", async () => {
    const q = freshQueue();
    const spoolDir = tempDir();
    const old = [ev("t", 0), ev("t", 1), ev("t", 2)];
    const torn = messageBody(ev("t", 3)).slice(0, 20);
    writeFileSync(
      join(spoolDir, "spool-0001000000000000.jsonl"),
      `${old.map((m) => messageBody(m)).join("\n")}\n${torn}`,
    );
    const sink = makeSink(q.url, { spoolDir });
    expect(sink.depth()).toBe(4);
    sink.submit(ev("t", 10));
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    expect(eventsOf(landed(q.name), "t")).toEqual([0, 1, 2, 10]);
    expect(readFileSync(join(spoolDir, "quarantine.jsonl"), "utf8")).toBe(`${torn}\n`);
  });

  it("close() keeps undelivered messages in the spool; the next sink sends them once, in order", async () => {
    const q = freshQueue();
    const spoolDir = tempDir();
    proxy.down();
    const first = makeSink(q.url, { spoolDir, memoryLimit: 10 });
    for (let i = 0; i < 50; i++) first.submit(ev("t", i));
    await waitFor(() => !first.healthy(), 5_000, "first sink failing");
    await first.close();
    expect(first.depth()).toBe(50);
    proxy.restore();
    const second = makeSink(q.url, { spoolDir });
    second.submit(ev("t", 50));
    expect((await second.drain(Date.now() + 10_000)).drained).toBe(true);
    expect(eventsOf(landed(q.name), "t")).toEqual(Array.from({ length: 51 }, (_, i) => i));
  });

  it("drain returns the remaining count when the deadline passes", async () => {
    const q = freshQueue();
    proxy.down();
    const sink = makeSink(q.url);
    for (let i = 0; i < 7; i++) sink.submit(ev("t", i));
    const r = await sink.drain(Date.now() + 300);
    expect(r).toEqual({ drained: false, remaining: 7 });
    proxy.restore();
    expect(await sink.drain(Date.now() + 10_000)).toEqual({ drained: true, remaining: 0 });
    expect(landed(q.name)).toHaveLength(7);
  });

  it("offloads an oversized event whole to S3 and queues a pointer in its place", async () => {
    const q = freshQueue();
    server.createBucket("offload");
    const s3 = s3Client(proxyUrl);
    const sink = makeSink(q.url, { s3, offloadBucket: "offload" });
    const big = ev("t", 1, 1_100_000);
    sink.submit(ev("t", 0));
    sink.submit(big);
    sink.submit(ev("t", 2));
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    const got = landed(q.name).map((l) => l.body);
    expect(got.map((b) => b.kind)).toEqual(["event", "event-pointer", "event"]);
    const pointer = got[1]!;
    if (pointer.kind !== "event-pointer") throw new Error("expected pointer");
    expect(pointer).toMatchObject({
      key: big.key,
      bucket: "offload",
      topicName: "t",
      receivedAt: big.receivedAt,
    });
    const obj = await s3.send(new GetObjectCommand({ Bucket: "offload", Key: pointer.objectKey }));
    const stored = JSON.parse(await obj.Body!.transformToString()) as QueuedEventMessage;
    expect(stored).toEqual(big);
    expect(pointer.sizeBytes).toBe(Buffer.byteLength(JSON.stringify(big)));
    s3.destroy();
  });

  it("dead-letters an oversized event loudly when no bucket is configured; the rest still flows", async () => {
    const q = freshQueue();
    const spoolDir = tempDir();
    const dead: Array<{ code: string; key?: string }> = [];
    const metrics = { count: vi.fn(), gauge: vi.fn(), timing: vi.fn() };
    const errors: unknown[] = [];
    const logger = {
      debug: vi.fn(),
      info: vi.fn(),
      warn: vi.fn(),
      error: (_m: string, x?: unknown) => errors.push(x),
    };
    const sink = makeSink(q.url, {
      spoolDir,
      metrics,
      logger,
      onDeadLetter: (entry, error) =>
        dead.push({ code: error.code, key: entry.message.kind === "event" ? entry.message.key : undefined }),
    });
    const big = ev("t", 1, 1_100_000);
    sink.submit(ev("t", 0));
    sink.submit(big);
    sink.submit(ev("t", 2));
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    expect(dead).toEqual([{ code: "event_too_large", key: big.key }]);
    expect(metrics.count).toHaveBeenCalledWith("DeadLettered");
    expect(errors).toContainEqual(expect.objectContaining({ code: "event_too_large", key: big.key }));
    expect(eventsOf(landed(q.name), "t")).toEqual([0, 2]);
    const file = readFileSync(join(spoolDir, DEAD_LETTER_FILE), "utf8").trim().split("\n");
    expect(file).toHaveLength(1);
    expect(JSON.parse(file[0]!)).toMatchObject({ code: "event_too_large", message: big });
  });

  it("splits a gap message too large for SQS by topics, never cutting it", async () => {
    const q = freshQueue();
    const sink = makeSink(q.url, { maxMessageBytes: 2_000, maxBatchBytes: 2_000 });
    const topics = Array.from({ length: 200 }, (_, i) => `v2.users.${"u".repeat(20)}${i}.presence`);
    sink.submit(toGapMessage({ startMs: 1000, endMs: 5000 }, topics));
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    const got = landed(q.name);
    expect(got.length).toBeGreaterThan(1);
    const all = got.flatMap((l) => (l.body.kind === "gap" ? l.body.topics : []));
    expect(all).toEqual(topics);
    for (const l of got) {
      expect(l.group).toBe("tokenstream.gap");
      expect(l.body).toMatchObject({ kind: "gap", durationMs: 4000 });
    }
  });

  it("never throws from submit: a malformed message is dead-lettered with a code; metrics are counted", async () => {
    const q = freshQueue();
    const metrics = { count: vi.fn(), gauge: vi.fn(), timing: vi.fn() };
    const codes: string[] = [];
    const sink = makeSink(q.url, { metrics, onDeadLetter: (_e, err) => codes.push(err.code) });
    for (const bad of [{ kind: "bogus" }, null, { kind: "event", key: "k" }, { kind: "gap", topics: "x" }]) {
      expect(() => sink.submit(bad as unknown as QueuedMessage)).not.toThrow();
    }
    sink.submit(ev("t", 0));
    sink.submit(ev("t", 1));
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    expect(codes).toEqual(["invalid_message", "invalid_message", "invalid_message", "invalid_message"]);
    expect(eventsOf(landed(q.name), "t")).toEqual([0, 1]);
    expect(landed(q.name)).toHaveLength(2);
    // EventsOut is counted per batch: its total is the events acknowledged.
    const eventsOut = metrics.count.mock.calls.filter(([name]) => name === "EventsOut");
    expect(eventsOut.reduce((n, [, k]) => n + (k ?? 1), 0)).toBe(2);
    expect(metrics.timing).toHaveBeenCalledWith("SinkLatencyMs", expect.any(Number));
    expect(metrics.gauge).toHaveBeenCalledWith("BufferDepth", expect.any(Number));
  });
});
