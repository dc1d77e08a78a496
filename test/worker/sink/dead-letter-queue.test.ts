/**
 * The sink's size limit and dead-letter destination against fauxqs: an event exactly at the queue's
 * MaximumMessageSize (body plus attributes, as SQS counts them) goes inline, one byte more does not; what
 * can go neither inline nor to S3 becomes a record on the dead-letter queue, and only when that queue
 * fails does it fall back to the local file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { DeadLetterRecord, QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { contentKey } from "../../../worker/core/content-identity.ts";
import { eventMessage, toSqsEntry } from "../../../worker/core/message.ts";
import { Spool } from "../../../worker/sink/spool.ts";
import {
  DEAD_LETTER_FILE,
  SQS_MAX_MESSAGE_BYTES,
  SqsSink,
  type SqsSinkOptions,
} from "../../../worker/sink/sqs-sink.ts";
import { s3Client, sqsClient } from "./helpers.ts";

let server: FauxqsServer;
const sinks: SqsSink[] = [];
const dirs: string[] = [];
let counter = 0;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
});
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(async () => {
  await server.stop();
});

function queues(): { events: { name: string; url: string }; dlq: { name: string; url: string } } {
  const n = ++counter;
  const events = server.createQueue(`events${n}.fifo`, { attributes: { FifoQueue: "true" } });
  const dlq = server.createQueue(`dead${n}`);
  return {
    events: { name: `events${n}.fifo`, url: events.queueUrl },
    dlq: { name: `dead${n}`, url: dlq.queueUrl },
  };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "sink-dlq-"));
  dirs.push(d);
  return d;
}

function recorder() {
  const logs: Array<{ level: string; message: string; extra: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (message: string, extra: Record<string, unknown> = {}) =>
      logs.push({ level, message, extra });
  return {
    logs,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    metrics: { count: vi.fn(), gauge: vi.fn(), timing: vi.fn() },
  };
}

function makeSink(extra: Partial<SqsSinkOptions> & { queueUrl: string }): SqsSink {
  const sink = new SqsSink({
    sqs: sqsClient(server.address),
    spoolDir: tempDir(),
    retry: { baseMs: 20, capMs: 200, floorMs: 10 },
    requestTimeoutMs: 2_000,
    deadLetterRetry: { attempts: 2, retryBaseMs: 10 },
    ...extra,
  });
  sinks.push(sink);
  return sink;
}

function ev(i: number, padChars: number): QueuedEventMessage {
  const env = {
    topicName: "big",
    eventBody: { i, pad: "x".repeat(padChars) },
    metadata: { CorrelationId: `c-${i}` },
  };
  return eventMessage(env, `key-${i}`, Date.now(), { contentKey: contentKey(env) });
}

/** An event whose SQS entry (body plus attributes) is exactly `bytes`. */
function eventOfEntrySize(i: number, bytes: number): QueuedEventMessage {
  const base = ev(i, 0);
  const size = toSqsEntry(base, { id: "0", fifo: true }).sizeBytes;
  const msg = ev(i, bytes - size);
  expect(toSqsEntry(msg, { id: "0", fifo: true }).sizeBytes).toBe(bytes);
  return msg;
}

function bodies(name: string): unknown[] {
  const q = server.inspectQueue(name);
  if (!q) throw new Error(`no queue ${name}`);
  return q.messages.ready.map((m) => JSON.parse(m.body) as unknown);
}

describe("inline limit", () => {
  it("an event of exactly 1 MiB as SQS counts it goes inline; one byte more goes to S3", async () => {
    const q = queues();
    server.createBucket(`offload${counter}`);
    const s3 = s3Client(server.address);
    const sink = makeSink({ queueUrl: q.events.url, s3, offloadBucket: `offload${counter}` });
    expect(SQS_MAX_MESSAGE_BYTES).toBe(1_048_576);
    const atLimit = eventOfEntrySize(1, SQS_MAX_MESSAGE_BYTES);
    const over = eventOfEntrySize(2, SQS_MAX_MESSAGE_BYTES + 1);
    sink.submit(atLimit);
    sink.submit(over);
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    const got = bodies(q.events.name) as QueuedMessage[];
    expect(got.map((m) => m.kind)).toEqual(["event", "event-pointer"]);
    expect(got[0]).toEqual(atLimit); // fauxqs enforces MaximumMessageSize (1 MiB) as SQS does
    expect(bodies(q.dlq.name)).toEqual([]);
    s3.destroy();
  });
});

describe("dead-letter queue", () => {
  it("an event too large with no bucket becomes a truncated record on the DLQ, counted and logged; the rest flows", async () => {
    const q = queues();
    const { logs, logger, metrics } = recorder();
    const spoolDir = tempDir();
    const sink = makeSink({
      queueUrl: q.events.url,
      deadLetterQueueUrl: q.dlq.url,
      spoolDir,
      logger,
      metrics,
    });
    const big = ev(1, 2 * 1_048_576);
    sink.submit(ev(0, 10));
    sink.submit(big);
    sink.submit(ev(2, 10));
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    expect((bodies(q.events.name) as QueuedEventMessage[]).map((m) => m.key)).toEqual(["key-0", "key-2"]);
    const records = bodies(q.dlq.name) as DeadLetterRecord[];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      kind: "dead-letter",
      reason: "event_too_large",
      messageKind: "event",
      key: "key-1",
      contentKey: big.contentKey,
      topicName: "big",
      correlationId: "c-1",
      receivedAt: big.receivedAt,
      truncated: true,
    });
    expect(records[0]!.sizeBytes).toBeGreaterThan(2 * 1_048_576);
    expect(JSON.stringify(big).startsWith(records[0]!.messagePrefix!)).toBe(true);
    expect(records[0]!.messagePrefix!.length).toBeGreaterThan(1_000_000);
    const attributes = server.inspectQueue(q.dlq.name)!.messages.ready[0]!.messageAttributes;
    expect(attributes.reason?.StringValue).toBe("event_too_large");
    expect(metrics.count).toHaveBeenCalledWith("DeadLettered");
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: "error",
        extra: expect.objectContaining({ code: "event_too_large", key: "key-1" }),
      }),
    );
    expect(JSON.stringify(logs)).not.toContain("x".repeat(100)); // never the body in a log line
    expect(existsSync(join(spoolDir, DEAD_LETTER_FILE))).toBe(false); // durable copy: no local file
  });

  it("a malformed message and an unreadable spool line each become a record", async () => {
    const q = queues();
    const spoolDir = tempDir();
    const spool = new Spool(spoolDir);
    spool.append('{"kind":"event","half', Date.now());
    spool.close();
    const sink = makeSink({ queueUrl: q.events.url, deadLetterQueueUrl: q.dlq.url, spoolDir });
    sink.submit({ kind: "bogus" } as unknown as QueuedMessage);
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    const records = bodies(q.dlq.name) as DeadLetterRecord[];
    expect(records.map((r) => [r.reason, r.messageKind, r.truncated]).sort()).toEqual([
      ["invalid_message", "bogus", false],
      ["spool_line_invalid", "unknown", true],
    ]);
    expect(records.find((r) => r.reason === "spool_line_invalid")?.messagePrefix).toBe(
      '{"kind":"event","half',
    );
  });

  it("when the DLQ itself fails, the whole message goes to the local file (last resort), loudly", async () => {
    const q = queues();
    const { logs, logger } = recorder();
    const spoolDir = tempDir();
    const missing = `${q.dlq.url}-does-not-exist`;
    const sink = makeSink({ queueUrl: q.events.url, deadLetterQueueUrl: missing, spoolDir, logger });
    const big = ev(1, 1_100_000);
    sink.submit(big);
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    const file = readFileSync(join(spoolDir, DEAD_LETTER_FILE), "utf8").trim().split("\n");
    expect(file).toHaveLength(1);
    expect(JSON.parse(file[0]!)).toMatchObject({ code: "event_too_large", message: big });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: "error",
        extra: expect.objectContaining({ code: "dead_letter_queue_failed", key: "key-1" }),
      }),
    );
  });
});
