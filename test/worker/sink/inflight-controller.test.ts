import { describe, expect, it } from "vitest";
import {
  InflightController,
  type SendOutcome,
  validateInflightLimits,
} from "../../../worker/sink/inflight-controller.ts";

/** A fake clock and a fake SQS that answers every batch after `latencyMs(t)` with `outcome(t)`. */
function simulate(
  controller: InflightController,
  clock: { t: number },
  opts: {
    untilMs: number;
    latencyMs: (t: number) => number;
    outcome?: (t: number) => SendOutcome;
    /** Batches waiting to go out at any moment (default: unlimited demand). */
    demand?: number;
  },
): { sent: number; maxInFlight: number; limits: number[] } {
  const pending: { doneAt: number; sentAt: number }[] = [];
  let sent = 0;
  let maxInFlight = 0;
  const limits: number[] = [];
  const fill = (): void => {
    const demand = opts.demand ?? Number.POSITIVE_INFINITY;
    while (pending.length < controller.limit() && pending.length < demand) {
      pending.push({ doneAt: clock.t + opts.latencyMs(clock.t), sentAt: clock.t });
      sent++;
    }
    maxInFlight = Math.max(maxInFlight, pending.length);
  };
  fill();
  while (clock.t < opts.untilMs) {
    pending.sort((a, b) => a.doneAt - b.doneAt);
    const inFlight = pending.length;
    const next = pending.shift();
    if (!next) break;
    clock.t = next.doneAt;
    controller.record({
      outcome: opts.outcome?.(clock.t) ?? "ok",
      latencyMs: next.doneAt - next.sentAt,
      inFlight,
    });
    limits.push(controller.limit());
    fill();
  }
  return { sent, maxInFlight, limits };
}

function controllerAt(clock: { t: number }, min = 2, max = 64): InflightController {
  return new InflightController({ min, max, now: () => clock.t });
}

describe("InflightController", () => {
  it("starts at min and ramps to max within a few round trips at 20 ms", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock);
    expect(c.limit()).toBe(2);
    const run = simulate(c, clock, { untilMs: 200, latencyMs: () => 20 });
    expect(c.limit()).toBe(64);
    expect(run.maxInFlight).toBe(64);
    // Slow start: 2 -> 4 -> 8 -> ... -> 64 takes 5 round trips (100 ms); the rest run at the max.
    expect(run.sent).toBeGreaterThan((64 * (200 - 100)) / 20);
  });

  it("ramps up in round trips, not in wall time: the same 5 round trips at 200 ms", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock);
    simulate(c, clock, { untilMs: 5 * 200 + 1, latencyMs: () => 200 });
    expect(c.limit()).toBe(64);
  });

  it("never exceeds max", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock, 1, 10);
    const run = simulate(c, clock, { untilMs: 2_000, latencyMs: () => 20 });
    expect(Math.max(...run.limits)).toBe(10);
    expect(run.maxInFlight).toBe(10);
  });

  it("grows no further than twice what the sink actually uses", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock);
    const run = simulate(c, clock, { untilMs: 2_000, latencyMs: () => 20, demand: 3 });
    expect(run.maxInFlight).toBe(3);
    expect(c.limit()).toBeLessThanOrEqual(6);
    c.record({ outcome: "ok", latencyMs: 20, inFlight: 1 });
    expect(c.limit()).toBeLessThanOrEqual(6);
  });

  it("halves on throttling, once per round trip, and never below min", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock, 2, 64);
    simulate(c, clock, { untilMs: 200, latencyMs: () => 20 });
    expect(c.limit()).toBe(64);
    // A whole window of throttled answers arriving together: one halving.
    for (let i = 0; i < 64; i++) c.record({ outcome: "throttled", latencyMs: 20, inFlight: 64 });
    expect(c.limit()).toBe(32);
    clock.t += 25;
    c.record({ outcome: "throttled", latencyMs: 20, inFlight: 64 });
    expect(c.limit()).toBe(16);
    for (let i = 0; i < 20; i++) {
      clock.t += 25;
      c.record({ outcome: "throttled", latencyMs: 20, inFlight: 64 });
    }
    expect(c.limit()).toBe(2);
  });

  it("after throttling grows additively (one slot per round trip), not by doubling", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock, 2, 64);
    simulate(c, clock, { untilMs: 200, latencyMs: () => 20 });
    c.record({ outcome: "throttled", latencyMs: 20, inFlight: 64 });
    expect(c.limit()).toBe(32);
    clock.t += 25;
    const start = clock.t;
    simulate(c, clock, { untilMs: start + 10 * 20, latencyMs: () => 20 });
    expect(c.limit()).toBeGreaterThanOrEqual(38);
    expect(c.limit()).toBeLessThanOrEqual(43);
  });

  it("settles where SQS starts throttling instead of hammering it", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock, 2, 200);
    // SQS accepts about 40 batches in flight (40 per 20 ms) and throttles above.
    let inFlightSeen = 0;
    const run = simulate(c, clock, {
      untilMs: 20_000,
      latencyMs: () => 20,
      outcome: () => {
        inFlightSeen = c.limit();
        return inFlightSeen > 40 ? "throttled" : "ok";
      },
    });
    const tail = run.limits.slice(-2_000);
    expect(Math.max(...tail)).toBeLessThanOrEqual(42);
    expect(Math.min(...tail)).toBeGreaterThanOrEqual(20);
  });

  it("shrinks when round trips get much slower than the baseline, and recovers when they do not", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock, 2, 64);
    simulate(c, clock, { untilMs: 200, latencyMs: () => 20 });
    expect(c.limit()).toBe(64);
    simulate(c, clock, { untilMs: 3_000, latencyMs: () => 1_000 });
    expect(c.limit()).toBeLessThan(64);
    const shrunk = c.limit();
    simulate(c, clock, { untilMs: 6_000, latencyMs: () => 20 });
    expect(c.limit()).toBeGreaterThan(shrunk);
  });

  it("ignores failures that are not throttling (the sink's backoff handles them)", () => {
    const clock = { t: 0 };
    const c = controllerAt(clock, 2, 64);
    c.record({ outcome: "ok", latencyMs: 20, inFlight: 64 });
    const before = c.limit();
    c.record({ outcome: "failed", latencyMs: 10_000, inFlight: 64 });
    expect(c.limit()).toBe(before);
  });

  it("refuses impossible limits", () => {
    expect(validateInflightLimits({ min: 0, max: 4 })).toHaveLength(1);
    expect(validateInflightLimits({ min: 8, max: 4 })).toHaveLength(1);
    expect(validateInflightLimits({ min: 2, max: 4, initial: 5 })).toHaveLength(1);
    expect(validateInflightLimits({ min: 2, max: 4, initial: 3 })).toEqual([]);
    expect(() => new InflightController({ min: 0, max: 1, now: Date.now })).toThrow(RangeError);
  });
});
