import { describe, expect, it } from "vitest";
import type { DeadLetterRecord, NotificationEnvelope, QueuedMessage } from "../../../shared/contracts.ts";
import { envelopeContentKey } from "../../../sim/content-key.ts";
import { eventIdentity, type PublishedRecord, reconcile } from "../../../tools/local/reconcile.ts";

const T0 = Date.parse("2026-11-23T10:00:00.000Z");

function envelope(topic: string, sequence: number, correlationId: string | undefined): NotificationEnvelope {
  return {
    topicName: topic,
    version: "2",
    eventBody: { sequence, topic },
    metadata: correlationId === undefined ? {} : { CorrelationId: correlationId },
  };
}

/** A published event at T0 + atMs; `correlationId` null = none. */
function published(
  topic: string,
  sequence: number,
  atMs = 0,
  correlationId: string | null = `corr-${topic}-${sequence}`,
): PublishedRecord & { env: NotificationEnvelope } {
  const env = envelope(topic, sequence, correlationId ?? undefined);
  return {
    topic,
    sequence,
    correlationId: correlationId ?? undefined,
    publishedAt: T0 + atMs,
    contentKey: envelopeContentKey(env),
    env,
  };
}

function message(event: { env: NotificationEnvelope }, key = "k"): QueuedMessage {
  return { kind: "event", key, receivedAt: "2026-11-23T10:00:05.000Z", event: event.env };
}

function gap(fromMs: number, toMs: number, topics: string[]): QueuedMessage {
  return {
    kind: "gap",
    topicName: "tokenstream.gap",
    start: new Date(T0 + fromMs).toISOString(),
    end: new Date(T0 + toMs).toISOString(),
    durationMs: toMs - fromMs,
    topics,
  };
}

describe("reconcile: published vs the queue", () => {
  const all = [published("a", 1), published("a", 2), published("b", 1), published("b", 2)];

  it("everything exactly once: delivered == published, nothing lost or duplicated", () => {
    const result = reconcile(
      all,
      all.map((event) => message(event)),
    );
    expect(result).toMatchObject({
      published: 4,
      delivered: 4,
      lost: 0,
      lostCoveredByGap: 0,
      lostUncovered: 0,
      duplicates: 0,
      unknown: 0,
      eventMessages: 4,
      identicalPublished: 0,
      identicalDelivered: 0,
    });
  });

  it("splits loss by the recorded gaps of the event's own topic, inclusive of both ends", () => {
    const events = [
      published("a", 1, 100),
      published("a", 2, 1_000), // inside a's gap (start)
      published("a", 3, 1_500), // inside a's gap
      published("a", 4, 2_000), // inside a's gap (end)
      published("a", 5, 2_001), // just after: uncovered
      published("b", 1, 1_500), // b has no gap
    ];
    const received = [message(events[0]!), gap(1_000, 2_000, ["a"]), gap(5_000, 6_000, ["a", "b"])];
    const result = reconcile(events, received);
    expect(result).toMatchObject({
      published: 6,
      delivered: 1,
      lost: 5,
      lostCoveredByGap: 3,
      lostUncovered: 2,
      gaps: 2,
      gapMs: 2_000,
    });
    // Uncovered loss is listed first.
    expect(result.lostSample.slice(0, 2).map((e) => `${e.topic}#${e.sequence}`)).toEqual(["a#5", "b#1"]);
  });

  it("counts extra copies (even under another key), unknown and pointer messages", () => {
    const pointer: QueuedMessage = {
      kind: "event-pointer",
      key: "p",
      receivedAt: "2026-11-23T10:00:00.000Z",
      topicName: "a",
      bucket: "b",
      objectKey: "o",
      sizeBytes: 5,
    };
    const received = [
      message(all[0]!),
      message(all[0]!, "another-key"),
      message(all[0]!),
      message(all[2]!),
      message(published("c", 9)),
      pointer,
    ];
    expect(reconcile(all, received)).toMatchObject({
      published: 4,
      delivered: 2,
      lost: 2,
      lostUncovered: 2,
      duplicates: 2,
      duplicatesMarked: 0,
      unknown: 2,
      eventMessages: 6,
    });
  });

  it("tells extra copies the worker marked possibleDuplicate from ones it delivered as distinct", () => {
    const marked = (event: { env: NotificationEnvelope }, key: string): QueuedMessage => ({
      ...(message(event, key) as Extract<QueuedMessage, { kind: "event" }>),
      possibleDuplicate: true,
    });
    const received = [
      message(all[0]!),
      marked(all[0]!, "m1"),
      message(all[1]!),
      message(all[1]!, "again"),
      marked(all[2]!, "m2"), // the only copy: marked, but no duplicate
      message(all[3]!),
    ];
    expect(reconcile(all, received)).toMatchObject({ delivered: 4, duplicates: 2, duplicatesMarked: 1 });
  });

  it("legitimately identical events each need their own copy; uncovered ones count as lost first", () => {
    const original = published("a", 1, 0, "shared");
    const repeat = { ...original, publishedAt: T0 + 3_000 }; // same content, published later
    const other = published("a", 2, 100, "shared"); // same CorrelationId, different body: distinct
    const events = [original, other, repeat];
    const both = reconcile(events, [message(original), message(other), message(repeat)]);
    expect(both).toMatchObject({
      delivered: 3,
      lost: 0,
      duplicates: 0,
      identicalPublished: 1,
      identicalDelivered: 1,
    });

    // The worker de-duplicated the repeat away: one copy for two events. The original lies in a gap, the
    // repeat does not; which one the copy stands for cannot be known, so the loss counts as uncovered.
    const deduped = reconcile(events, [message(original), message(other), gap(-10, 10, ["a"])]);
    expect(deduped).toMatchObject({
      delivered: 2,
      lost: 1,
      lostUncovered: 1,
      lostCoveredByGap: 0,
      identicalPublished: 1,
      identicalDelivered: 0,
      identicalLostUncovered: 1,
    });
    expect(deduped.lostSample[0]?.publishedAt).toBe(T0 + 3_000);
  });

  it("a copy received before the repeat was published stands for the original: the repeat is the lost one", () => {
    const original = published("a", 1, 0, "shared");
    const repeat = { ...original, publishedAt: T0 + 3_000 };
    const early = { ...message(original), receivedAt: new Date(T0 + 1_000).toISOString() } as QueuedMessage;
    const inGap = reconcile([original, repeat], [early, gap(2_500, 3_500, ["a"])]);
    expect(inGap).toMatchObject({ delivered: 1, lost: 1, lostCoveredByGap: 1, lostUncovered: 0 });
    expect(inGap.lostSample[0]?.publishedAt).toBe(T0 + 3_000);
    // The same copy with the original in the gap instead: still the repeat that is lost, and it is uncovered.
    const outside = reconcile([original, repeat], [early, gap(-500, 500, ["a"])]);
    expect(outside).toMatchObject({ lostCoveredByGap: 0, lostUncovered: 1 });
    expect(outside.lostSample[0]?.publishedAt).toBe(T0 + 3_000);
  });

  it("a copy received long after an event was published is not that event's (beyond the delivery lag bound)", () => {
    const original = published("a", 1, 0, "shared"); // lost in a gap (e.g. its topic was forbidden then)
    const repeat = { ...original, publishedAt: T0 + 125_000 };
    const late = { ...message(original), receivedAt: new Date(T0 + 125_003).toISOString() } as QueuedMessage;
    const result = reconcile([original, repeat], [late, gap(-100, 100, ["a"])]);
    expect(result).toMatchObject({ lost: 1, lostCoveredByGap: 1, lostUncovered: 0 });
    // Without the bound the copy could be either: the worst case counts the repeat as lost, uncovered.
    expect(
      reconcile([original, repeat], [late, gap(-100, 100, ["a"])], { maxDeliveryLagMs: 10 ** 9 }),
    ).toMatchObject({ lostUncovered: 1 });
  });

  it("events without a CorrelationId are matched by content", () => {
    const bare = [published("g", 1, 0, null), published("g", 2, 0, null)];
    expect(reconcile(bare, [message(bare[1]!)])).toMatchObject({ delivered: 1, lost: 1 });
  });

  it("without a content key falls back to CorrelationId, else topic and sequence", () => {
    const legacy: PublishedRecord = { topic: "a", sequence: 2, correlationId: undefined, publishedAt: T0 };
    const bare: QueuedMessage = {
      kind: "event",
      key: "k",
      receivedAt: "2026-11-23T10:00:00.000Z",
      event: { topicName: "a", eventBody: { sequence: 2, extra: true } },
    };
    expect(eventIdentity(bare)).toBe("s:a#2");
    expect(reconcile([legacy], [bare])).toMatchObject({ delivered: 1, lost: 0, unknown: 0 });
    expect(eventIdentity(gap(0, 1, ["a"]))).toBeUndefined();
  });

  it("a lost event named by a worker dead-letter record is covered by it, not silent loss", () => {
    const events = [published("a", 1), published("a", 2, 10), published("a", 3, 20), published("b", 1, 30)];
    const record = (fields: Partial<DeadLetterRecord>): DeadLetterRecord => ({
      kind: "dead-letter",
      deadLetteredAt: "2026-11-23T10:00:06.000Z",
      reason: "event_too_large",
      detail: "too large, no offload bucket",
      messageKind: "event",
      sizeBytes: 5_242_880,
      truncated: true,
      messagePrefix: "{",
      ...fields,
    });
    const deadLetters = [
      // Truncated: matched by topic and CorrelationId.
      record({ topicName: "a", correlationId: "corr-a-2" }),
      // Whole: matched by content.
      record({ truncated: false, message: message(events[2]!), messagePrefix: undefined }),
      // Names nothing published.
      record({ topicName: "a", correlationId: "corr-zzz" }),
    ];
    const result = reconcile(events, [message(events[0]!), gap(25, 35, ["b"])], { deadLetters });
    expect(result).toMatchObject({
      published: 4,
      delivered: 1,
      lost: 3,
      lostCoveredByDeadLetter: 2,
      lostCoveredByGap: 1,
      lostUncovered: 0,
      deadLetterRecords: 3,
      deadLetterUnmatched: 1,
    });
    // Without the records the same loss is silent.
    expect(reconcile(events, [message(events[0]!)])).toMatchObject({ lostUncovered: 3 });
    // A record covers one event, not every event it could match.
    const twice = reconcile([published("a", 2), published("a", 2, 5)], [], {
      deadLetters: [record({ topicName: "a", correlationId: "corr-a-2" })],
    });
    expect(twice).toMatchObject({ lostCoveredByDeadLetter: 1, lostUncovered: 1 });
  });

  it("nothing received: everything lost, sample bounded", () => {
    const many = Array.from({ length: 50 }, (_, i) => published("a", i + 1));
    const result = reconcile(many, [], { sampleLimit: 5 });
    expect(result).toMatchObject({ published: 50, delivered: 0, lost: 50, lostUncovered: 50 });
    expect(result.lostSample).toHaveLength(5);
  });
});
