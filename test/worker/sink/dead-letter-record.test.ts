import { describe, expect, it } from "vitest";
import type { DeadLetterRecord, QueuedEventMessage } from "../../../shared/contracts.ts";
import { contentKey } from "../../../worker/core/content-identity.ts";
import { entrySizeBytes, eventMessage } from "../../../worker/core/message.ts";
import { deadLetterMessage, fittingPrefix, identityOf } from "../../../worker/sink/dead-letter-record.ts";

const AT = Date.parse("2026-03-01T10:00:00.000Z");
const TOO_LARGE = { code: "event_too_large", message: "larger than 1 MiB and no offload bucket" };

function event(padChars: number, pad = "x"): QueuedEventMessage {
  const env = {
    topicName: "v2.users.u1.presence",
    eventBody: { pad: pad.repeat(padChars) },
    metadata: { CorrelationId: "corr-1" },
  };
  return eventMessage(env, contentKey(env), AT - 5, { contentKey: contentKey(env) });
}

function sqsSize(m: ReturnType<typeof deadLetterMessage>): number {
  return entrySizeBytes({ MessageBody: m.body, MessageAttributes: m.attributes });
}

describe("deadLetterMessage", () => {
  it("keeps the whole message and its identity when the record fits", () => {
    const msg = event(100);
    const out = deadLetterMessage({ message: msg, sizeBytes: 321 }, TOO_LARGE, AT, 1_048_576);
    expect(out.record).toEqual({
      kind: "dead-letter",
      deadLetteredAt: "2026-03-01T10:00:00.000Z",
      reason: "event_too_large",
      detail: TOO_LARGE.message,
      messageKind: "event",
      key: msg.key,
      contentKey: msg.contentKey,
      topicName: "v2.users.u1.presence",
      correlationId: "corr-1",
      receivedAt: msg.receivedAt,
      sizeBytes: 321,
      truncated: false,
      message: msg,
    } satisfies DeadLetterRecord);
    expect(JSON.parse(out.body)).toEqual(out.record);
    expect(out.attributes).toEqual({
      kind: { DataType: "String", StringValue: "dead-letter" },
      reason: { DataType: "String", StringValue: "event_too_large" },
    });
  });

  it("truncates a message too large for the record to the limit exactly, flagged, identity kept", () => {
    const msg = event(3 * 1_048_576);
    const whole = JSON.stringify(msg);
    const out = deadLetterMessage({ message: msg, sizeBytes: whole.length }, TOO_LARGE, AT, 1_048_576);
    expect(out.record.truncated).toBe(true);
    expect(out.record.message).toBeUndefined();
    expect(out.record).toMatchObject({ key: msg.key, correlationId: "corr-1", sizeBytes: whole.length });
    const parsed = JSON.parse(out.body) as DeadLetterRecord;
    expect(whole.startsWith(parsed.messagePrefix!)).toBe(true);
    expect(sqsSize(out)).toBeLessThanOrEqual(1_048_576);
    expect(sqsSize(out)).toBeGreaterThan(1_048_576 - 8); // as much as fits, not a token amount
  });

  it("stays within the limit when escapes and multi-byte characters inflate the prefix", () => {
    for (const pad of ['"', "é", "😀", "\u0001", "\uffff"]) {
      const msg = event(400_000, pad);
      const out = deadLetterMessage({ message: msg, sizeBytes: 0 }, TOO_LARGE, AT, 100_000);
      expect(sqsSize(out), `pad ${JSON.stringify(pad)}`).toBeLessThanOrEqual(100_000);
      expect(sqsSize(out), `pad ${JSON.stringify(pad)}`).toBeGreaterThan(100_000 - 16);
      const parsed = JSON.parse(out.body) as DeadLetterRecord;
      expect(JSON.stringify(msg).startsWith(parsed.messagePrefix!)).toBe(true);
      expect(out.body).not.toMatch(/[\ufffe\uffff]/); // SQS refuses these raw
    }
  });

  it("records a malformed message and an unreadable spool line as what they are", () => {
    const bogus = deadLetterMessage(
      { message: { kind: "bogus", key: 7 }, sizeBytes: 0 },
      { code: "invalid_message", message: "unknown message kind" },
      AT,
      1_048_576,
    );
    expect(bogus.record).toMatchObject({
      messageKind: "bogus",
      truncated: false,
      message: { kind: "bogus" },
    });
    expect(bogus.record.key).toBeUndefined();
    const line = deadLetterMessage(
      { line: '{"kind":"event","ke' },
      { code: "spool_line_invalid", message: "spool line is not a queued message" },
      AT,
      1_048_576,
    );
    expect(line.record).toMatchObject({
      messageKind: "unknown",
      truncated: true,
      messagePrefix: '{"kind":"event","ke',
      sizeBytes: 19,
    });
    const cyclic: Record<string, unknown> = { kind: "event" };
    cyclic.self = cyclic;
    const unserializable = deadLetterMessage({ message: cyclic, sizeBytes: 0 }, TOO_LARGE, AT, 1_048_576);
    expect(unserializable.record).toMatchObject({
      messageKind: "unknown",
      truncated: true,
      messagePrefix: "",
    });
  });
});

describe("identityOf", () => {
  it("takes only strings, from an event or a pointer", () => {
    expect(identityOf(null)).toEqual({ messageKind: "unknown" });
    expect(identityOf({ kind: "event", key: 1, event: { topicName: ["x"] } })).toEqual({
      messageKind: "event",
    });
    expect(identityOf({ kind: "event-pointer", key: "k", topicName: "t", receivedAt: "r" })).toEqual({
      messageKind: "event-pointer",
      key: "k",
      topicName: "t",
      receivedAt: "r",
    });
  });
});

describe("fittingPrefix", () => {
  it("never splits a surrogate pair and fits the JSON-escaped size", () => {
    expect(fittingPrefix("abcdef", 3)).toBe("abc");
    expect(fittingPrefix("abc", 10)).toBe("abc");
    expect(fittingPrefix("a😀b", 3)).toBe("a"); // the emoji is 4 bytes
    expect(fittingPrefix("a😀b", 5)).toBe("a😀");
    expect(fittingPrefix('""""', 5)).toBe('""'); // each escapes to 2 bytes
    expect(fittingPrefix("abc", 0)).toBe("");
  });
});
