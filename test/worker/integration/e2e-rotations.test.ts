import { afterEach, describe, expect, it } from "vitest";
import { coverage, type Harness, runTraffic, settle, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe.each([1, 2])(
  "planned rotations, redundancy %i: every emitted event in the queue exactly once",
  (redundancy) => {
    it("token expiry every 1.2 s", async () => {
      h = await startHarness({ redundancy, sim: { tokenLifetimeSec: 1.2 } });
      await runTraffic(h, { rate: 40, ms: 2_600 });
      await settle(h);
      const c = coverage(h);
      expect(c.emitted).toBeGreaterThan(150);
      expect(c.missing).toEqual([]);
      expect(c.duplicates).toBe(0);
      expect(c.orderViolations).toBe(0);
      expect(h.gaps()).toEqual([]);
      const s = h.worker.stats();
      expect(s.rotations).toBeGreaterThanOrEqual(2 * redundancy);
      expect(s.gaps).toBe(0);
      expect(h.sim.counters.tokensIssued).toBeGreaterThanOrEqual(3);
    });

    it("channel expiry every 1 s (token long-lived)", async () => {
      h = await startHarness({ redundancy, sim: { tokenLifetimeSec: 3600, channelLifetimeMs: 1_000 } });
      await runTraffic(h, { rate: 40, ms: 2_400 });
      await settle(h);
      const c = coverage(h);
      expect(c.missing).toEqual([]);
      expect(c.duplicates).toBe(0);
      expect(h.gaps()).toEqual([]);
      expect(h.worker.stats().rotations).toBeGreaterThanOrEqual(2 * redundancy);
      // Channel-driven rotations reuse the still-valid token (one per slot: each has its own lane).
      expect(h.sim.counters.tokensIssued).toBe(redundancy);
    });

    it("socket_closing every 0.7 s of socket age", async () => {
      h = await startHarness({
        redundancy,
        sim: { tokenLifetimeSec: 3600, socketClosingEveryMs: 700, socketClosingGraceMs: 1_000 },
      });
      await runTraffic(h, { rate: 40, ms: 2_400 });
      await settle(h);
      const c = coverage(h);
      expect(c.missing).toEqual([]);
      expect(c.duplicates).toBe(0);
      expect(h.gaps()).toEqual([]);
      expect(h.sim.counters.socketClosingSent).toBeGreaterThanOrEqual(2 * redundancy);
      expect(h.worker.stats().rotations).toBeGreaterThanOrEqual(2 * redundancy);
    });
  },
);
