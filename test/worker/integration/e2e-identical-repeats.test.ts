/**
 * Distinct upstream events with identical content (issue 10): each one reaches the queue, whatever the
 * interval between them, and none is taken for a copy of another. fauxqs implements SQS FIFO's 5-minute
 * de-duplication window (a reused MessageDeduplicationId is accepted and dropped, as by SQS), so a key
 * reused anywhere in these runs would lose a message: every key must differ.
 */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startFauxqs } from "fauxqs";
import { afterEach, describe, expect, it } from "vitest";
import type { PublishedEvent } from "../../../sim/index.ts";
import { type Harness, runTraffic, settle, startHarness, TEST_CREDENTIALS } from "./harness.ts";
import { accountQueue, deduplicationIds } from "./queue-accounting.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Per topic, one event (no CorrelationId when `bare`) and identical repeats of it: one back to back, then
 * after each of `gapsMs`.
 */
async function publishRepeats(harness: Harness, gapsMs: number[], bare: boolean): Promise<void> {
  const firsts: PublishedEvent[] = harness.config.topics.map((topic) =>
    harness.sim.publish(topic, { repeated: true, topic }, bare ? { correlationId: null } : {}),
  );
  for (const first of firsts) harness.sim.publishIdentical(first);
  for (const gapMs of gapsMs) {
    await pause(gapMs);
    for (const first of firsts) harness.sim.publishIdentical(first);
  }
}

function expectEveryRepeatOnce(harness: Harness, minRepeats: number): void {
  const acc = accountQueue(harness);
  const detail = JSON.stringify({ lostSample: acc.lostSample, gaps: harness.gaps() });
  expect(acc.identicalPublished).toBeGreaterThanOrEqual(minRepeats);
  expect(acc.identicalDelivered, detail).toBe(acc.identicalPublished);
  expect(acc.lost, detail).toBe(0);
  expect(acc.lostUncovered).toBe(0);
  expect(acc.duplicates, detail).toBe(0);
  expect(harness.gaps()).toEqual([]);
  const ids = deduplicationIds(harness);
  expect(ids).toHaveLength(harness.messages().length);
  expect(new Set(ids).size, "every MessageDeduplicationId distinct").toBe(ids.length);
}

it("fauxqs drops a MessageDeduplicationId sent again within the FIFO window (what makes distinct keys matter)", async () => {
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const sqs = new SQSClient({ region: "us-east-1", endpoint: fauxqs.address, credentials: TEST_CREDENTIALS });
  try {
    const { queueUrl } = fauxqs.createQueue("probe.fifo", { attributes: { FifoQueue: "true" } });
    const send = (body: string) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageGroupId: "g",
          MessageDeduplicationId: "same-key",
        }),
      );
    await send("first");
    await send("second, same key");
    expect(fauxqs.inspectQueue("probe.fifo")?.messages.ready.map((m) => m.body)).toEqual(["first"]);
  } finally {
    sqs.destroy();
    await fauxqs.stop();
  }
});

describe.each([1, 2])(
  "identical repeats farther apart than the de-dup lag bound, redundancy %i",
  (redundancy) => {
    it("back to back, then 2, 3.5 and 5 s later (LAG_BOUND_MS 1 s): every repeat in the queue, keys distinct", async () => {
      h = await startHarness({ redundancy, config: { lagBoundMs: 1_000 } });
      const harness = h;
      await runTraffic(harness, {
        rate: 20,
        ms: 5_600,
        during: () => publishRepeats(harness, [2_000, 1_500, 1_500], false),
      });
      await settle(harness);
      // Per topic: a back-to-back repeat and three later ones.
      expectEveryRepeatOnce(harness, 4 * harness.config.topics.length);
    });
  },
);

describe("generic source (no CorrelationId on any event)", () => {
  it("repeated payloads back to back, within and beyond the lag bound, across a token expiry: each delivered", async () => {
    h = await startHarness({
      redundancy: 2,
      source: "generic",
      // Generated events carry no CorrelationId either; tokens expire (close 4001) during the run.
      sim: { correlationModel: "absent", tokenLifetimeSec: 2 },
      config: { lagBoundMs: 500 },
    });
    const harness = h;
    await runTraffic(harness, {
      rate: 20,
      ms: 3_500,
      during: () => publishRepeats(harness, [100, 300, 800, 1_500], true),
    });
    await settle(harness);
    expect(harness.sim.ledger.published().every((e) => e.correlationId === undefined)).toBe(true);
    expect(harness.worker.stats().sessionsStarted).toBeGreaterThan(2); // the sockets were replaced
    expectEveryRepeatOnce(harness, 5 * harness.config.topics.length);
  });
});
