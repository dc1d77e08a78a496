/**
 * Upstream timing during rotations (issue 10): subscriptions that take a while to deliver after the 200,
 * and a channel lagging behind its peer by up to the configured lag bound. The replaced session drains
 * (through de-dup) until the new one surely delivers: nothing lost, nothing twice, no gap.
 */
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../support/wait-for.ts";
import { type Harness, runTraffic, settle, startHarness } from "./harness.ts";
import { accountQueue } from "./queue-accounting.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectExactlyOnce(harness: Harness): void {
  const acc = accountQueue(harness);
  const detail = JSON.stringify({ lostSample: acc.lostSample, gaps: harness.gaps() });
  expect(acc.published).toBeGreaterThan(150);
  expect(acc.lost, detail).toBe(0);
  expect(acc.lostUncovered, detail).toBe(0);
  expect(acc.duplicates, detail).toBe(0);
  expect(acc.unknown).toBe(0);
  expect(harness.gaps()).toEqual([]);
}

/** Rotations every ~1.3 s per slot (2 s tokens) with every new subscription propagating 150-300 ms late. */
async function rotateUnderDelay(redundancy: number, config: Partial<Harness["config"]>): Promise<Harness> {
  const harness = await startHarness({ redundancy, sim: { tokenLifetimeSec: 2 }, config });
  h = harness;
  let rotationsBefore = 0;
  await runTraffic(harness, {
    rate: 40,
    ms: 3_500,
    during: async () => {
      // From now on (the first sessions are live): every rotation's subscriptions propagate slowly.
      harness.sim.faults.setSubscriptionDelay(150, 300);
      rotationsBefore = harness.worker.stats().rotations;
      await waitFor(
        () => harness.worker.stats().rotations >= rotationsBefore + 2 * redundancy,
        6_000,
        "rotations under the delay",
      );
    },
  });
  await settle(harness);
  expect(harness.worker.stats().rotations).toBeGreaterThanOrEqual(rotationsBefore + 2 * redundancy);
  return harness;
}

describe.each([1, 2])("subscription propagation delay during rotations, redundancy %i", (redundancy) => {
  it("new subscriptions deliver 150-300 ms after the 200: nothing lost, nothing twice", async () => {
    // The bound the worker is told: the replaced session drains at least this long.
    expectExactlyOnce(await rotateUnderDelay(redundancy, { propagationMs: 400 }));
  });
});

it("control: the same delay with no drain at all loses events silently at redundancy 1 (the fault is real)", async () => {
  const harness = await rotateUnderDelay(1, { propagationMs: 400, drainMs: 0 });
  const acc = accountQueue(harness);
  expect(acc.lostUncovered).toBeGreaterThan(0);
  expect(acc.duplicates).toBe(0);
});

describe("a channel lagging up to the lag bound", () => {
  it("lag 1.2 s (bound 1.5 s) on one slot while the other slot rotates: nothing lost, nothing twice", async () => {
    h = await startHarness({ redundancy: 2, config: { lagBoundMs: 1_500 } });
    const harness = h;
    await runTraffic(harness, {
      rate: 40,
      ms: 3_000,
      during: async () => {
        const [lagging, other] = harness.sim.openSockets();
        expect(harness.sim.faults.setChannelLag(lagging?.channelId ?? "", 1_200)).toBe(1);
        await pause(300);
        const rotations = harness.worker.stats().rotations;
        expect(harness.sim.faults.sendSocketClosing(other?.id)).toBe(1);
        await waitFor(() => harness.worker.stats().rotations > rotations, 5_000, "the other slot rotated");
      },
    });
    await pause(1_300); // the lagging channel's last events
    await settle(harness);
    const s = harness.worker.stats();
    expect(s.rotations).toBe(1);
    // The lagging session was never taken for silent (that would have replaced it: a second rotation).
    expect(s.sessionsStarted).toBe(3);
    // Both sessions delivered nearly every event: the lagging copies were recognised, not queued again.
    expect(s.duplicatesDropped).toBeGreaterThan(100);
    expectExactlyOnce(harness);
  });
});
