/**
 * The dead-letter path's bookkeeping around its queue: a record still being sent when the sink closes is
 * written to the local file as well (never in neither place), and a later failure does not write it twice.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueuedEventMessage } from "../../../shared/contracts.ts";
import { DEAD_LETTER_FILE, DeadLetterPath } from "../../../worker/sink/dead-letter.ts";
import type { DeadLetterQueue } from "../../../worker/sink/dead-letter-queue.ts";
import type { DeadLetterSqsMessage } from "../../../worker/sink/dead-letter-record.ts";
import { NO_METRICS, SILENT_LOGGER } from "../../../worker/sink/sink-ports.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A queue whose sends stay pending until the test settles them. */
function heldQueue() {
  const held: Array<{ message: DeadLetterSqsMessage; resolve: () => void; reject: (e: Error) => void }> = [];
  const queue = {
    queueUrl: "http://dlq",
    send: (message: DeadLetterSqsMessage) =>
      new Promise<void>((resolve, reject) => held.push({ message, resolve, reject })),
  } as unknown as DeadLetterQueue;
  return { queue, held };
}

function path(queue: DeadLetterQueue) {
  const dir = mkdtempSync(join(tmpdir(), "dead-letter-path-"));
  dirs.push(dir);
  const metrics = { ...NO_METRICS, count: vi.fn() };
  const p = new DeadLetterPath({
    dir,
    log: SILENT_LOGGER,
    metrics,
    now: Date.now,
    queue,
    maxRecordBytes: 1_048_576,
  });
  const file = () => {
    try {
      return readFileSync(join(dir, DEAD_LETTER_FILE), "utf8").trim().split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  return { p, metrics, file };
}

const msg: QueuedEventMessage = {
  kind: "event",
  key: "k1",
  receivedAt: "2026-03-01T10:00:00.000Z",
  event: { topicName: "t", eventBody: { big: true }, metadata: { CorrelationId: "c1" } },
};
const error = { code: "event_too_large", message: "too large" };

describe("DeadLetterPath", () => {
  it("sends a record and writes no file when the queue takes it", async () => {
    const { queue, held } = heldQueue();
    const { p, metrics, file } = path(queue);
    p.message(msg, 123, error);
    expect(metrics.count).toHaveBeenCalledWith("DeadLettered");
    expect(held).toHaveLength(1);
    expect(held[0]!.message.record).toMatchObject({ key: "k1", correlationId: "c1", message: msg });
    held[0]!.resolve();
    await p.settled();
    expect(file()).toEqual([]);
  });

  it("settled(deadline) returns at the deadline; close files what is still pending, once", async () => {
    const { queue, held } = heldQueue();
    const { p, file } = path(queue);
    p.message(msg, 123, error);
    const started = Date.now();
    await p.settled(Date.now() + 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    await p.close(20);
    expect(file()).toHaveLength(1);
    expect(JSON.parse(file()[0]!)).toMatchObject({ code: "event_too_large", message: msg });
    held[0]!.reject(new Error("late failure"));
    await p.settled();
    expect(file()).toHaveLength(1); // not twice
  });

  it("files the whole message when the queue fails", async () => {
    const { queue, held } = heldQueue();
    const { p, file } = path(queue);
    p.line('{"half', { code: "spool_line_invalid", message: "not a message" });
    held[0]!.reject(new Error("QueueDoesNotExist"));
    await p.settled();
    expect(file().map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ code: "spool_line_invalid", message: '{"half' }),
    ]);
  });
});
