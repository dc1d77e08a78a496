/**
 * A topic's permission withdrawn mid-run (issue 10): the simulator drops the subscription silently (no
 * frame, no close: the worst case) and refuses it on every later subscribe until it is allowed again. The
 * other topics keep flowing; every lost event of the forbidden topic lies inside a `tokenstream.gap` for
 * that topic (lostUncovered == 0); nothing reaches the queue twice.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { QueuedGapMessage } from "../../../shared/contracts.ts";
import { waitFor } from "../../support/wait-for.ts";
import { type Harness, runTraffic, settle, startHarness } from "./harness.ts";
import { accountQueue } from "./queue-accounting.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const FORBIDDEN = "t.beta";
const TOPICS = ["t.alpha", FORBIDDEN, "t.gamma"];
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** When the faults happened (epoch ms), for the failure message. */
let faultTimes: Record<string, number> = {};

const gapsOf = (harness: Harness, topic: string): QueuedGapMessage[] =>
  harness.gaps().filter((g) => g.topics.includes(topic));

/**
 * Forbids the topic for `forbiddenMs` (calling `meanwhile` 150 ms in), then waits until its gap is closed and
 * the topic flows again.
 */
async function forbidThenAllow(
  harness: Harness,
  forbiddenMs: number,
  meanwhile: () => void = () => {},
): Promise<void> {
  await pause(600);
  faultTimes = { forbidAt: Date.now() };
  harness.sim.faults.forbidTopic(FORBIDDEN);
  await pause(150);
  faultTimes.meanwhileAt = Date.now();
  meanwhile();
  await pause(forbiddenMs - 150);
  faultTimes.allowAt = Date.now();
  harness.sim.faults.allowTopic(FORBIDDEN);
  await waitFor(() => gapsOf(harness, FORBIDDEN).length > 0, 8_000, "the forbidden topic's gap to close");
  const deliveredBefore = harness.sim.ledger.summary(FORBIDDEN).delivered;
  await waitFor(
    () => harness.sim.ledger.summary(FORBIDDEN).delivered > deliveredBefore + 10,
    5_000,
    "the topic to flow again",
  );
}

/** The figures every variant asserts: the fault bit, and the loss is exactly the forbidden topic's gap. */
function expectLossOnlyInsideTheTopicGap(harness: Harness): void {
  const acc = accountQueue(harness);
  const detail = JSON.stringify({
    faultTimes,
    lostSample: acc.lostSample.map((e) => ({ topic: e.topic, seq: e.sequence, at: e.publishedAt })),
    gaps: harness.gaps().map((g) => [Date.parse(g.start), Date.parse(g.end), g.topics]),
    stats: harness.worker.stats(),
  });
  expect(acc.lostUncovered, detail).toBe(0);
  expect(acc.duplicates, detail).toBe(0);
  for (const topic of TOPICS.filter((t) => t !== FORBIDDEN)) {
    const t = acc.byTopic.get(topic);
    expect(t?.published, topic).toBeGreaterThan(50);
    expect(t?.lost, `${topic} keeps flowing`).toBe(0);
  }
  const forbidden = acc.byTopic.get(FORBIDDEN);
  expect(forbidden?.lost, "the fault took events away").toBeGreaterThan(10);
  expect(forbidden?.lostCoveredByGap).toBe(forbidden?.lost);
  // Only the forbidden topic had a gap, in messages of its own.
  for (const g of harness.gaps()) expect(g.topics).toEqual([FORBIDDEN]);
}

describe("a topic forbidden mid-run, redundancy 2", () => {
  it("with token rotation going on and a socket dropped: handovers find the topic gone, its loss is inside its gap", async () => {
    h = await startHarness({ redundancy: 2, topics: TOPICS, sim: { tokenLifetimeSec: 1.2 } });
    const harness = h;
    await runTraffic(harness, {
      rate: 40,
      ms: 3_000,
      // A session that ends without a handover (nobody confirms its subscriptions): its evidence bounds it.
      during: () => forbidThenAllow(harness, 1_500, () => harness.sim.faults.dropSocket("random")),
    });
    await settle(harness);
    // Every slot rotated at least once while the topic was forbidden; the dropped session was replaced.
    expect(harness.worker.stats().rotations).toBeGreaterThanOrEqual(4);
    expect(harness.sim.counters.drops).toBe(1);
    expectLossOnlyInsideTheTopicGap(harness);
  });

  it("without any rotation: the channel probe finds the topic gone, the refused-topic retry takes it back", async () => {
    h = await startHarness({
      redundancy: 2,
      topics: TOPICS,
      config: { probeIntervalMs: 150, refusedTopicRetryMs: 300 },
    });
    const harness = h;
    await runTraffic(harness, { rate: 40, ms: 2_500, during: () => forbidThenAllow(harness, 1_000) });
    await settle(harness);
    expect(harness.worker.stats()).toMatchObject({ rotations: 0, sessionFailures: 0 });
    expectLossOnlyInsideTheTopicGap(harness);
  });
});
