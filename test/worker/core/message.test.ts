import { describe, expect, it } from "vitest";
import type { QueuedMessage } from "../../../shared/contracts.ts";
import { contentKey } from "../../../worker/core/content-identity.ts";
import { toGapMessage } from "../../../worker/core/gap-ledger.ts";
import {
  deduplicationId,
  eventMessage,
  isoTime,
  messageBody,
  messageGroupId,
  pointerMessage,
  toSqsEntry,
} from "../../../worker/core/message.ts";

const env = { topicName: "v2.users.abc.presence", eventBody: { s: "é" }, metadata: { CorrelationId: "c" } };

describe("queue messages", () => {
  it("event message: kind, key, ISO receivedAt, the envelope untouched", () => {
    const key = contentKey(env);
    expect(eventMessage(env, key, 0)).toEqual({
      kind: "event",
      key,
      receivedAt: "1970-01-01T00:00:00.000Z",
      event: env,
    });
  });

  it("FIFO fields: group = topic, dedup id = event key; gaps group under tokenstream.gap", () => {
    const msg = eventMessage(env, contentKey(env), 0);
    const { fields } = toSqsEntry(msg, { id: "0", fifo: true });
    expect(fields.MessageGroupId).toBe("v2.users.abc.presence");
    expect(fields.MessageDeduplicationId).toBe(msg.key);
    expect(JSON.parse(fields.MessageBody)).toEqual(msg);
    const gap = toGapMessage({ startMs: 0, endMs: 10 }, ["a"]);
    expect(messageGroupId(gap)).toBe("tokenstream.gap");
    expect(deduplicationId(gap)).toMatch(/^[0-9a-f]{64}$/);
    expect(deduplicationId(gap)).not.toBe(deduplicationId(toGapMessage({ startMs: 0, endMs: 11 }, ["a"])));
  });

  it("standard queues carry no group or dedup id", () => {
    const { fields } = toSqsEntry(eventMessage(env, "k", 0), { id: "0", fifo: false });
    expect(fields.MessageGroupId).toBeUndefined();
    expect(fields.MessageDeduplicationId).toBeUndefined();
  });

  it("topics SQS would reject as a group id map to a stable hash", () => {
    const odd = (topic: string): QueuedMessage => eventMessage({ topicName: topic, eventBody: 1 }, "k", 0);
    const long = "t".repeat(200);
    expect(messageGroupId(odd(long))).toMatch(/^topic-sha256-[0-9a-f]{64}$/);
    expect(messageGroupId(odd(long))).toBe(messageGroupId(odd(long)));
    expect(messageGroupId(odd("has space"))).not.toBe(messageGroupId(odd("has  space")));
    expect(messageGroupId(odd("x".repeat(128)))).toBe("x".repeat(128));
  });

  it("pointer message keeps key, time and topic", () => {
    const msg = eventMessage(env, "k1", 5);
    expect(pointerMessage(msg, { bucket: "b", objectKey: "o", sizeBytes: 9 })).toEqual({
      kind: "event-pointer",
      key: "k1",
      receivedAt: msg.receivedAt,
      topicName: env.topicName,
      bucket: "b",
      objectKey: "o",
      sizeBytes: 9,
    });
  });

  it("size counts UTF-8 body bytes plus attributes", () => {
    const msg = eventMessage(env, "k", 0);
    const { fields, sizeBytes } = toSqsEntry(msg, { id: "0", fifo: true });
    const body = Buffer.byteLength(fields.MessageBody, "utf8");
    expect(sizeBytes).toBe(body + "kind".length + "String".length + "event".length);
    expect(body).toBeGreaterThan(fields.MessageBody.length - 1); // é is 2 bytes
  });

  it("escapes characters SQS rejects, and the body still parses to the same message", () => {
    const msg = eventMessage({ topicName: "t", eventBody: { s: "a\uffffb\ufffe" } }, "k", 0);
    const body = messageBody(msg);
    expect(body).not.toMatch(/[\ufffe\uffff]/);
    expect(JSON.parse(body)).toEqual(msg);
  });
});

describe("isoTime", () => {
  it("is toISOString for every millisecond asked, in any order", () => {
    for (const ms of [0, 1, 1, 1_700_000_000_123, 1_700_000_000_123, 1_700_000_000_124, 5, -1, 1]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
    expect(eventMessage({ topicName: "t", eventBody: {} }, "k", 1_700_000_000_999).receivedAt).toBe(
      "2023-11-14T22:13:20.999Z",
    );
  });
});
