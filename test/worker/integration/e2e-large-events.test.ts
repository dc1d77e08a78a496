/**
 * Large events end to end (issue 10, item 5): the simulator publishes 300 KiB, 1.5 MiB and 5 MiB events among
 * ordinary traffic; the real worker (redundancy 2) delivers them to fauxqs. Up to the queue's 1 MiB they go
 * inline; above it, with a bucket, whole to S3 behind a pointer; without one, as a record on the dead-letter
 * queue, counted. Nothing lost, nothing silent: the reconciliation against the simulator's ledger finds no
 * uncovered loss and no duplicate.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { envelopeContentKey } from "../../../sim/content-key.ts";
import type { PublishedEvent } from "../../../sim/index.ts";
import { reconcile } from "../../../tools/local/reconcile.ts";
import { DEAD_LETTER_FILE } from "../../../worker/sink/sqs-sink.ts";
import { createWorkerTelemetry } from "../../../worker/telemetry.ts";
import { waitFor } from "../../support/wait-for.ts";
import { type Harness, OFFLOAD_BUCKET_NAME, startHarness } from "./harness.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [300 * KiB, 1.5 * MiB, 5 * MiB];
const BIG_TOPIC = "t.alpha";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Ordinary traffic with the three large events in the middle of it. */
async function publishWithLargeEvents(harness: Harness): Promise<PublishedEvent[]> {
  await waitFor(() => harness.worker.stats().liveSessions >= 2, 10_000, "both sessions live");
  harness.sim.startGenerator(40);
  await new Promise((r) => setTimeout(r, 300));
  const large = SIZES.map((size) => harness.sim.publishLarge(BIG_TOPIC, size));
  await new Promise((r) => setTimeout(r, 300));
  harness.sim.stopGenerator();
  expect(large.map((e) => e.sizeBytes)).toEqual(SIZES);
  return large;
}

/** Waits until every published event is in the queue (inline or pointer) or on the dead-letter queue. */
async function settleAll(harness: Harness): Promise<void> {
  await waitFor(
    () => {
      const queued = harness.messages().filter((m) => m.kind !== "gap").length;
      return (
        harness.worker.stats().bufferDepth === 0 &&
        queued + harness.deadLetters().length >= harness.sim.ledger.total()
      );
    },
    20_000,
    "every event queued or dead-lettered",
  );
}

/** Queue messages with each pointer replaced by the event message its S3 object holds. */
async function resolvePointers(harness: Harness): Promise<QueuedMessage[]> {
  const out: QueuedMessage[] = [];
  for (const m of harness.messages()) {
    if (m.kind !== "event-pointer") {
      out.push(m);
      continue;
    }
    expect(m.bucket).toBe(OFFLOAD_BUCKET_NAME);
    const object = await harness.s3.send(new GetObjectCommand({ Bucket: m.bucket, Key: m.objectKey }));
    const stored = JSON.parse(await object.Body!.transformToString()) as QueuedEventMessage;
    expect(stored).toMatchObject({ kind: "event", key: m.key, receivedAt: m.receivedAt });
    out.push(stored);
  }
  return out;
}

function countingTelemetry() {
  const telemetry = createWorkerTelemetry({ logLevel: "SILENT" });
  return { telemetry, count: vi.spyOn(telemetry, "count") };
}

const deadLettered = (count: ReturnType<typeof countingTelemetry>["count"]) =>
  count.mock.calls.filter(([name]) => name === "DeadLettered").reduce((n, [, by]) => n + (by ?? 1), 0);

describe("large events end to end", () => {
  it("with an offload bucket: 300 KiB inline, 1.5 MiB and 5 MiB whole in S3 behind pointers", async () => {
    const { telemetry, count } = countingTelemetry();
    h = await startHarness({
      redundancy: 2,
      offloadBucket: true,
      deadLetterQueue: true,
      deps: { telemetry },
    });
    const harness = h;
    const large = await publishWithLargeEvents(harness);
    await settleAll(harness);

    const inline = harness.events().filter((m) => envelopeContentKey(m.event) === large[0]!.contentKey);
    expect(inline).toHaveLength(1); // 300 KiB: inline
    const pointers = harness.messages().filter((m) => m.kind === "event-pointer");
    expect(pointers).toHaveLength(2); // 1.5 MiB and 5 MiB: behind pointers

    const resolved = await resolvePointers(harness);
    for (const e of large) {
      const copies = resolved.filter(
        (m) => m.kind === "event" && envelopeContentKey(m.event) === e.contentKey,
      ) as QueuedEventMessage[];
      expect(copies, `${e.sizeBytes} bytes`).toHaveLength(1);
      expect(copies[0]!.event).toEqual(e.envelope); // whole, byte for byte the upstream event
    }
    const result = reconcile(harness.sim.ledger.published(), resolved, {
      deadLetters: harness.deadLetters(),
    });
    expect(result).toMatchObject({
      lost: 0,
      lostUncovered: 0,
      duplicates: 0,
      unknown: 0,
      deadLetterRecords: 0,
    });
    expect(result.published).toBeGreaterThan(10);
    expect(deadLettered(count)).toBe(0);
    expect(existsSync(join(harness.config.spoolDir, DEAD_LETTER_FILE))).toBe(false);
  });

  it("without a bucket: 300 KiB inline, 1.5 MiB and 5 MiB as dead-letter records, counted, nothing silent", async () => {
    const { telemetry, count } = countingTelemetry();
    h = await startHarness({ redundancy: 2, deadLetterQueue: true, deps: { telemetry } });
    const harness = h;
    const large = await publishWithLargeEvents(harness);
    await settleAll(harness);

    const inline = harness.events().filter((m) => envelopeContentKey(m.event) === large[0]!.contentKey);
    expect(inline).toHaveLength(1);
    expect(inline[0]!.event).toEqual(large[0]!.envelope);
    expect(harness.messages().filter((m) => m.kind === "event-pointer")).toEqual([]);

    const records = harness.deadLetters();
    expect(records).toHaveLength(2); // once each, though both sessions received them
    for (const e of large.slice(1)) {
      const record = records.find((r) => r.correlationId === e.correlationId);
      expect(record, `${e.sizeBytes} bytes`).toMatchObject({
        kind: "dead-letter",
        reason: "event_too_large",
        messageKind: "event",
        topicName: BIG_TOPIC,
        truncated: true,
      });
      expect(record!.sizeBytes).toBeGreaterThan(e.sizeBytes);
      expect(record!.messagePrefix!.length).toBeGreaterThan(1_000_000);
      expect(Date.parse(record!.receivedAt!)).toBeGreaterThan(0);
      expect(record!.key).toMatch(/\S/);
    }
    expect(deadLettered(count)).toBe(2);
    expect(existsSync(join(harness.config.spoolDir, DEAD_LETTER_FILE))).toBe(false);

    const result = reconcile(harness.sim.ledger.published(), harness.messages(), {
      deadLetters: records,
    });
    expect(result).toMatchObject({
      lost: 2,
      lostCoveredByDeadLetter: 2,
      lostUncovered: 0,
      duplicates: 0,
      unknown: 0,
      deadLetterUnmatched: 0,
    });
    // Without its records the same run is silent loss: the records are what make it known.
    expect(reconcile(harness.sim.ledger.published(), harness.messages()).lostUncovered).toBe(2);
  });
});
