/**
 * Zero loss under realistic upstream behaviour (issue 10), end to end: the simulator, fauxqs and the worker.
 * Every test checks the queue against everything the simulator published, by content (identical events
 * each need their own message): nothing missing outside a recorded gap, no content more often in the queue
 * than it was published.
 */
import { afterEach, describe, expect, it } from "vitest";
import { receivedRef } from "../../../sim/index.ts";
import { waitFor } from "../../support/wait-for.ts";
import { type Harness, lossWithinGaps, runTraffic, settle, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Loss and duplicates by content: published counts vs queue counts per content key. */
function byContent(harness: Harness) {
  const published = new Map<string, number>();
  for (const e of harness.sim.ledger.published()) {
    if (e.contentKey !== undefined) published.set(e.contentKey, (published.get(e.contentKey) ?? 0) + 1);
  }
  const queued = new Map<string, number>();
  for (const m of harness.events()) {
    const k = receivedRef(m.event).contentKey ?? "";
    queued.set(k, (queued.get(k) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const [k, n] of queued) duplicates += Math.max(0, n - (published.get(k) ?? 0));
  const missing = harness.sim.ledger.missingFrom(harness.events().map((m) => receivedRef(m.event)));
  const identicalPublished = harness.sim.ledger.published().filter((e) => e.identical).length;
  return { duplicates, missing, identicalPublished, published: harness.sim.ledger.total() };
}

describe.each([1, 2])("identical events, redundancy %i", (redundancy) => {
  it("identical repeats across rotations, with every socket rotated at once, each reach the queue", async () => {
    h = await startHarness({ redundancy, sim: { socketClosingGraceMs: 3_000 } });
    const harness = h;
    await runTraffic(harness, {
      rate: 20,
      ms: 2_500,
      during: async () => {
        const repeats = async () => {
          for (const topic of harness.config.topics) {
            const first = harness.sim.publish(topic, { same: true, topic });
            harness.sim.publishIdentical(first); // back to back
            await new Promise((r) => setTimeout(r, 60));
            harness.sim.publishIdentical(first);
          }
        };
        await repeats();
        harness.sim.faults.maintenance(); // every socket announces socket_closing at once
        await repeats(); // while the replacements are built
        await waitFor(() => harness.worker.stats().rotations >= redundancy, 8_000, "the rotations");
        await repeats(); // the replaced sessions are draining
      },
    });
    await settle(harness);
    const c = byContent(harness);
    expect(c.identicalPublished).toBeGreaterThanOrEqual(12);
    expect(c.duplicates).toBe(0);
    expect(c.missing).toEqual([]);
    expect(harness.gaps()).toEqual([]);
  });
});

describe("silent and lagging channels", () => {
  it("one lane's token revoked silently: the other session keeps coverage, the silent one is replaced", async () => {
    h = await startHarness({ redundancy: 2 });
    const harness = h;
    await runTraffic(harness, {
      rate: 40,
      ms: 3_500,
      during: async () => {
        // Sessions must be mature (live > propagation + lag) for a miss to count.
        await new Promise((r) => setTimeout(r, 1_300));
        const lane1 = await harness.tokens.current(1);
        const lane0 = await harness.tokens.current(0);
        expect(lane1.fingerprint).not.toBe(lane0.fingerprint); // distinct tokens per slot
        const before = harness.worker.stats().sessionsStarted;
        expect(harness.sim.faults.revokeTokenSilently(lane1.accessToken)).toBe(true);
        // Detection bound: LAG_BOUND_MS (1 s here) + 3 events at 40/s, plus the build of the replacement.
        await waitFor(
          () => harness.worker.stats().sessionsStarted > before,
          4_000,
          "the silent session replaced",
        );
      },
    });
    await settle(harness);
    const c = byContent(harness);
    expect(c.duplicates).toBe(0);
    expect(c.missing).toEqual([]);
    expect(harness.gaps()).toEqual([]);
  });

  it("a channel lagging 800 ms behind its peer: nothing lost, nothing twice", async () => {
    h = await startHarness({ redundancy: 2 });
    const harness = h;
    await runTraffic(harness, {
      rate: 40,
      ms: 2_500,
      during: async () => {
        const lagging = harness.sim.openSockets()[0]?.channelId ?? "";
        expect(harness.sim.faults.setChannelLag(lagging, 800)).toBe(1);
      },
    });
    await new Promise((r) => setTimeout(r, 1_000)); // the lagging channel's last events
    await settle(harness);
    const c = byContent(harness);
    expect(c.duplicates).toBe(0);
    expect(c.missing).toEqual([]);
  });

  it("both sockets go half-open 250 ms apart: the gap runs from the last frame, though a replacement was live", async () => {
    h = await startHarness({ redundancy: 2 });
    const harness = h;
    await runTraffic(harness, {
      rate: 40,
      ms: 3_000,
      during: async () => {
        const [a, b] = harness.sim.openSockets();
        harness.sim.faults.halfOpen(a?.id);
        await new Promise((r) => setTimeout(r, 250));
        harness.sim.faults.halfOpen(b?.id);
        await waitFor(() => harness.worker.stats().gaps >= 1, 5_000, "the gap recorded");
      },
    });
    await settle(harness);
    const gaps = harness.gaps();
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    const c = byContent(harness);
    // Every event the worker did not deliver lies inside a recorded gap.
    expect(
      lossWithinGaps(
        {
          emitted: c.published,
          received: harness.events().length,
          missing: c.missing.map((m) => ({ topic: m.topic, sequence: m.sequence, emittedAt: m.publishedAt })),
          duplicates: c.duplicates,
          orderViolations: 0,
        },
        gaps,
      ),
    ).toBe(true);
    expect(c.missing.length).toBeGreaterThan(0);
    expect(c.duplicates).toBe(0);
  });
});
