/**
 * Partial failures and throttling that fauxqs cannot produce, injected into one SQS client instance: its
 * SendMessageBatch calls go through the SDK's whole middleware stack (serialised, signed, and held by the
 * sink's send gate when staged) and are answered in place of the network. Everything else about the sink is
 * tested against fauxqs in sqs-sink.test.ts.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  type SendMessageBatchCommandInput,
  type SendMessageBatchResult,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { contentKey } from "../../../worker/core/content-identity.ts";
import { eventMessage } from "../../../worker/core/message.ts";
import { SqsSink, type SqsSinkOptions } from "../../../worker/sink/sqs-sink.ts";

const QUEUE = "https://sqs.us-east-1.amazonaws.com/000000000000/events.fifo";
const sinks: SqsSink[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ev(topic: string, i: number, pad = 0): QueuedEventMessage {
  const env = {
    topicName: topic,
    eventBody: { i, pad: "x".repeat(pad) },
    metadata: { CorrelationId: `c${i}` },
  };
  return eventMessage(env, contentKey(env), 0);
}

/** Event bodies are labelled by their index, other messages by their kind. */
function idxOf(body: string): number {
  const m = JSON.parse(body) as QueuedMessage;
  return m.kind === "event" ? (m.event.eventBody as { i: number }).i : -1;
}

/**
 * A fake SQS that records every entry it accepted, in order. It answers where the HTTP handler would (after
 * signing and the sink's send gate), `latencyMs` after the request would have been written.
 */
function fakeSqs(
  behaviour: (input: SendMessageBatchCommandInput, call: number) => SendMessageBatchResult | Error,
  latencyMs = 0,
) {
  const client = new SQSClient({
    region: "us-east-1",
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
    maxAttempts: 1,
  });
  const accepted: number[] = [];
  const calls: number[][] = [];
  const acceptedPerCall: number[][] = [];
  let n = 0;
  // Calls written in the same turn (before any other macrotask) as the previous answer was handed back.
  let answeredThisTurn = false;
  const counts = { writtenAsAnswered: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "SendMessageBatchCommand") return next(args);
      if (answeredThisTurn) counts.writtenAsAnswered++;
      const input = args.input as SendMessageBatchCommandInput;
      const entries = input.Entries ?? [];
      calls.push(entries.map((e) => idxOf(e.MessageBody!)));
      const out = behaviour(input, n++);
      const ok: number[] = [];
      acceptedPerCall.push(ok);
      if (!(out instanceof Error)) {
        for (const s of out.Successful ?? []) {
          const e = entries.find((x) => x.Id === s.Id)!;
          ok.push(idxOf(e.MessageBody!));
        }
        accepted.push(...ok);
      }
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      answeredThisTurn = true;
      setImmediate(() => {
        answeredThisTurn = false;
      });
      if (out instanceof Error) throw out;
      return { output: { ...out, $metadata: {} }, response: {} } as Awaited<ReturnType<typeof next>>;
    },
    { step: "deserialize", priority: "high", name: "fakeSqs" },
  );
  return {
    client,
    accepted,
    calls,
    acceptedPerCall,
    get writtenAsAnswered() {
      return counts.writtenAsAnswered;
    },
  };
}

const md5 = (body: string): string => createHash("md5").update(body).digest("hex");

const allOk = (input: SendMessageBatchCommandInput): SendMessageBatchResult => ({
  Successful: (input.Entries ?? []).map((e) => ({
    Id: e.Id!,
    MessageId: `m${e.Id}`,
    MD5OfMessageBody: md5(e.MessageBody!),
  })),
  Failed: [],
});

function makeSink(sqs: SQSClient, extra: Partial<SqsSinkOptions> = {}): SqsSink {
  const spoolDir = mkdtempSync(join(tmpdir(), "sink-fault-"));
  dirs.push(spoolDir);
  const sink = new SqsSink({
    sqs,
    queueUrl: QUEUE,
    spoolDir,
    retry: { baseMs: 10, capMs: 50, floorMs: 10 },
    ...extra,
  });
  sinks.push(sink);
  return sink;
}

function sdkError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe("SqsSink under injected faults", () => {
  it("retries only the entries in Failed[] with SenderFault false, each delivered once", async () => {
    const fake = fakeSqs((input, call) => {
      if (call > 0) return allOk(input);
      const entries = input.Entries ?? [];
      return {
        Successful: entries
          .filter((_, i) => i !== 1)
          .map((e) => ({ Id: e.Id!, MessageId: "m", MD5OfMessageBody: md5(e.MessageBody!) })),
        Failed: [{ Id: entries[1]!.Id!, SenderFault: false, Code: "InternalError", Message: "try again" }],
      };
    });
    const sink = makeSink(fake.client);
    for (let i = 0; i < 4; i++) sink.submit(ev(`topic-${i}`, i));
    expect((await sink.drain(Date.now() + 5_000)).drained).toBe(true);
    expect([...fake.accepted].sort()).toEqual([0, 1, 2, 3]);
    expect(fake.calls).toEqual([[0, 1, 2, 3], [1]]);
  });

  it("dead-letters an entry SQS rejects as the sender's fault instead of retrying it forever", async () => {
    const fake = fakeSqs((input) => {
      const entries = input.Entries ?? [];
      const bad = entries.filter((e) => idxOf(e.MessageBody!) === 2);
      return {
        Successful: entries
          .filter((e) => !bad.includes(e))
          .map((e) => ({ Id: e.Id!, MessageId: "m", MD5OfMessageBody: md5(e.MessageBody!) })),
        Failed: bad.map((e) => ({
          Id: e.Id!,
          SenderFault: true,
          Code: "InvalidMessageContents",
          Message: "bad chars",
        })),
      };
    });
    const dead: string[] = [];
    const metrics = { count: vi.fn(), gauge: vi.fn(), timing: vi.fn() };
    const sink = makeSink(fake.client, { metrics, onDeadLetter: (_e, err) => dead.push(err.code) });
    for (let i = 0; i < 4; i++) sink.submit(ev(`topic-${i}`, i));
    expect((await sink.drain(Date.now() + 5_000)).drained).toBe(true);
    expect(dead).toEqual(["InvalidMessageContents"]);
    expect(fake.accepted.sort()).toEqual([0, 1, 3]);
    expect(fake.calls).toHaveLength(1);
    expect(metrics.count).toHaveBeenCalledWith("DeadLettered");
  });

  it("backs a throttled topic off without calling the sink unhealthy, then delivers everything", async () => {
    const healthyDuringThrottling: boolean[] = [];
    let sinkRef: SqsSink | undefined;
    const fake = fakeSqs((input, call) => {
      healthyDuringThrottling.push(sinkRef?.healthy() ?? true);
      return call < 3 ? sdkError("ThrottlingException", 400) : allOk(input);
    });
    const sink = makeSink(fake.client);
    sinkRef = sink;
    for (let i = 0; i < 5; i++) sink.submit(ev("t", i));
    expect((await sink.drain(Date.now() + 5_000)).drained).toBe(true);
    // Throttling is SQS asking for fewer requests: the window narrows, the sink stays healthy.
    expect(healthyDuringThrottling).toEqual([true, true, true, true]);
    expect(sink.inFlightLimit()).toBeGreaterThanOrEqual(1);
    expect(fake.accepted).toEqual([0, 1, 2, 3, 4]);
    expect(fake.calls).toHaveLength(4);
  });

  it("a throttled topic waits alone: other topics keep being sent meanwhile, each in order", async () => {
    // Every batch holding topic H is throttled for its first 3 attempts; topic Q is never throttled.
    let hThrottles = 0;
    const hAt: number[] = [];
    const fake = fakeSqs((input) => {
      const entries = input.Entries ?? [];
      if (entries.some((e) => e.MessageGroupId === "H")) {
        hAt.push(Date.now());
        if (hThrottles++ < 3) return sdkError("ThrottlingException", 400);
      }
      return allOk(input);
    });
    // Backoff 400 ms, then 800 ms, per throttle of H: long enough to see Q go on without it.
    const sink = makeSink(fake.client, {
      retry: { baseMs: 400, capMs: 800, floorMs: 400 },
      random: () => 1,
      maxInFlightBatches: 1,
    });
    sink.submit(ev("H", 100));
    await new Promise((r) => setTimeout(r, 20)); // H's first batch was sent (and throttled) alone
    for (let i = 0; i < 30; i++) sink.submit(ev("Q", i));
    await new Promise((r) => setTimeout(r, 150));
    // H waits its backoff; Q's three batches went through in the meantime, one at a time (window of 1).
    expect(fake.accepted.filter((i) => i < 100)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(hThrottles).toBe(1);
    expect(sink.healthy()).toBe(true);
    expect((await sink.drain(Date.now() + 10_000)).drained).toBe(true);
    expect(fake.accepted.at(-1)).toBe(100);
    expect(hThrottles).toBe(4);
    // Each retry of H waited at least its backoff floor: H backed off, it was not spun.
    for (let k = 1; k < hAt.length; k++) expect(hAt[k]! - hAt[k - 1]!).toBeGreaterThanOrEqual(390);
  });

  it("never sends a later entry of a topic while an earlier one is being retried", async () => {
    // Entry 0 of topic A fails until the third call; entries 1..5 of A keep arriving meanwhile.
    let failures = 0;
    const fake = fakeSqs((input) => {
      const entries = input.Entries ?? [];
      const first = entries.find((e) => idxOf(e.MessageBody!) === 0);
      if (first && failures < 2) {
        failures++;
        return {
          Successful: [],
          Failed: entries.map((e) => ({ Id: e.Id!, SenderFault: false, Code: "ServiceUnavailable" })),
        };
      }
      return allOk(input);
    });
    const sink = makeSink(fake.client);
    sink.submit(ev("A", 0));
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 1; i < 6; i++) sink.submit(ev("A", i));
    expect((await sink.drain(Date.now() + 5_000)).drained).toBe(true);
    expect(fake.accepted).toEqual([0, 1, 2, 3, 4, 5]);
    // Every call carried a consecutive run starting at A's oldest unaccepted entry: nothing overtook.
    const done = new Set<number>();
    fake.calls.forEach((c, k) => {
      const oldest = Math.min(...[0, 1, 2, 3, 4, 5].filter((i) => !done.has(i)));
      expect(c, `call ${k}: ${JSON.stringify(fake.calls)}`).toEqual(c.map((_, j) => oldest + j));
      for (const i of fake.acceptedPerCall[k]!) done.add(i);
    });
    expect(fake.calls.length).toBeGreaterThanOrEqual(3);
  });

  it("writes a hot topic's next batch in the same turn its previous batch is answered", async () => {
    const fake = fakeSqs(allOk, 5);
    const sink = makeSink(fake.client);
    for (let i = 0; i < 60; i++) sink.submit(ev("H", i));
    expect((await sink.drain(Date.now() + 5_000)).drained).toBe(true);
    expect(fake.calls).toEqual(
      Array.from({ length: 6 }, (_, b) => Array.from({ length: 10 }, (_, j) => b * 10 + j)),
    );
    expect(fake.writtenAsAnswered).toBe(5);
  });

  it("never writes a staged batch whose topic still has an entry to retry: failures, throttles, splits at latency", async () => {
    let seed = 7;
    const random = (): number => {
      seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
      return seed / 2 ** 32;
    };
    const fake = fakeSqs((input) => {
      const entries = input.Entries ?? [];
      const dice = random();
      if (dice < 0.5) return allOk(input);
      // Refused as a whole: the sink sends these entries one by one (no pause, no wait).
      if (dice < 0.6 && entries.length > 1) return sdkError("BatchRequestTooLong", 400);
      // SQS FIFO takes a batch's entries in order: from some entry on, this topic's entries fail.
      const from = Math.floor(random() * entries.length);
      const code = random() < 0.5 ? "ServiceUnavailable" : "ThrottlingException";
      return {
        Successful: allOk({ ...input, Entries: entries.slice(0, from) }).Successful,
        Failed: entries.slice(from).map((e) => ({ Id: e.Id!, SenderFault: false, Code: code })),
      };
    }, 3);
    const sink = makeSink(fake.client, { retry: { baseMs: 2, capMs: 10, floorMs: 2 } });
    const total = 200;
    for (let i = 0; i < total; i++) sink.submit(ev("H", i));
    expect((await sink.drain(Date.now() + 20_000)).drained).toBe(true);
    expect(fake.accepted).toEqual(Array.from({ length: total }, (_, i) => i));
    // Every call written carried a consecutive run starting at the topic's oldest unaccepted entry.
    let oldest = 0;
    fake.calls.forEach((c, k) => {
      expect(c, `call ${k}`).toEqual(c.map((_, j) => oldest + j));
      oldest += fake.acceptedPerCall[k]!.length;
    });
  });

  it("splits a batch SQS refuses as a whole (BatchRequestTooLong) and sends entries one by one", async () => {
    const fake = fakeSqs((input) =>
      (input.Entries ?? []).length > 1 ? sdkError("BatchRequestTooLong", 400) : allOk(input),
    );
    const sink = makeSink(fake.client);
    for (let i = 0; i < 3; i++) sink.submit(ev("t", i));
    expect((await sink.drain(Date.now() + 5_000)).drained).toBe(true);
    expect(fake.accepted).toEqual([0, 1, 2]);
    expect(fake.calls).toEqual([[0, 1, 2], [0], [1], [2]]);
  });

  it("keeps retrying (never drops) when the queue is missing or access is denied", async () => {
    const fake = fakeSqs((input, call) =>
      call < 4 ? sdkError(call % 2 ? "AccessDenied" : "QueueDoesNotExist", 400) : allOk(input),
    );
    const dead: string[] = [];
    const sink = makeSink(fake.client, { onDeadLetter: (_e, err) => dead.push(err.code) });
    sink.submit(ev("t", 0));
    expect((await sink.drain(Date.now() + 5_000)).drained).toBe(true);
    expect(dead).toEqual([]);
    expect(fake.accepted).toEqual([0]);
  });

  it("retries an S3 offload that failed, keeping the pointer in its place in the topic", async () => {
    const fake = fakeSqs(allOk);
    const s3 = new S3Client({ region: "us-east-1", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
    const s3mock = mockClient(s3);
    s3mock.on(PutObjectCommand).rejectsOnce(sdkError("SlowDown", 503)).resolves({});
    const sink = makeSink(fake.client, { s3, offloadBucket: "b" });
    sink.submit(ev("t", 0));
    sink.submit(ev("t", 1, 1_100_000));
    sink.submit(ev("t", 2));
    expect((await sink.drain(Date.now() + 5_000)).drained).toBe(true);
    expect(s3mock.commandCalls(PutObjectCommand)).toHaveLength(2);
    // -1 is the pointer message: it took the oversized event's place between 0 and 2.
    expect(fake.accepted).toEqual([0, -1, 2]);
  });
});
