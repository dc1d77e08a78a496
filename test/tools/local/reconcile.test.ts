import { describe, expect, it } from "vitest";
import type { QueuedMessage } from "../../../shared/contracts.ts";
import { type EmittedEvent, eventIdentity, reconcile } from "../../../tools/local/reconcile.ts";

function emitted(topic: string, sequence: number): EmittedEvent {
  return { topic, sequence, correlationId: `corr-${topic}-${sequence}` };
}

function message(event: EmittedEvent, key = `key-${event.correlationId}`): QueuedMessage {
  return {
    kind: "event",
    key,
    receivedAt: "2026-11-23T10:00:00.000Z",
    event: {
      topicName: event.topic,
      eventBody: { sequence: event.sequence, topic: event.topic },
      metadata: { CorrelationId: event.correlationId },
    },
  };
}

const gap = (durationMs: number): QueuedMessage => ({
  kind: "gap",
  topicName: "tokenstream.gap",
  start: "2026-11-23T10:00:00.000Z",
  end: "2026-11-23T10:00:01.000Z",
  durationMs,
  topics: ["a"],
});

describe("reconcile", () => {
  const all = [emitted("a", 1), emitted("a", 2), emitted("b", 1), emitted("b", 2)];

  it("everything exactly once: delivered == emitted, nothing lost or duplicated", () => {
    const result = reconcile(
      all,
      all.map((event) => message(event)),
    );
    expect(result).toMatchObject({
      emitted: 4,
      delivered: 4,
      lost: 0,
      duplicates: 0,
      unknown: 0,
      eventMessages: 4,
    });
  });

  it("counts lost events, extra copies (even under a different key), gaps and unknown messages", () => {
    const received = [
      message(all[0]!),
      message(all[0]!, "another-key"),
      message(all[0]!),
      message(all[2]!),
      message(emitted("c", 9)),
      gap(1200),
      gap(300),
    ];
    const result = reconcile(all, received);
    expect(result).toMatchObject({
      emitted: 4,
      delivered: 2,
      lost: 2,
      duplicates: 2,
      unknown: 1,
      eventMessages: 5,
      gaps: 2,
      gapMs: 1500,
    });
    expect(result.lostSample).toEqual([all[1], all[3]]);
  });

  it("matches by topic and sequence when a message has no CorrelationId", () => {
    const bare: QueuedMessage = {
      kind: "event",
      key: "k",
      receivedAt: "2026-11-23T10:00:00.000Z",
      event: { topicName: "a", eventBody: { sequence: 2 } },
    };
    expect(eventIdentity(bare)).toBe("s:a#2");
    expect(reconcile([emitted("a", 2)], [bare])).toMatchObject({ delivered: 1, lost: 0 });
    expect(eventIdentity(gap(1))).toBeUndefined();
  });

  it("nothing received: everything lost, sample bounded", () => {
    const many = Array.from({ length: 50 }, (_, i) => emitted("a", i + 1));
    const result = reconcile(many, [], 5);
    expect(result).toMatchObject({ emitted: 50, delivered: 0, lost: 50 });
    expect(result.lostSample).toHaveLength(5);
  });
});
