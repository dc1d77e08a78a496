import { describe, expect, it } from "vitest";
import { TimerLateness } from "../../../tools/bench/timer-lateness.ts";

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Holds `n` answers, each due 20 ms + up to 2 ms after its request, with timers that fire like Node's on
 * whole milliseconds (the wait asked for rounded up), plus an occasional stall of the loop. Returns the mean
 * lateness of the last half.
 */
function meanLateness(lateness: TimerLateness | undefined, n: number): number {
  const random = lcg(42);
  let clock = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    clock += 25 + random();
    const dueAt = clock + 20 + random() * 2;
    const wait = dueAt - clock - (lateness?.correctionMs() ?? 0);
    const stall = random() < 0.02 ? 3 : 0;
    const firedAt = clock + Math.ceil(Math.max(0, wait)) + stall;
    lateness?.learn(firedAt - dueAt);
    if (i >= n / 2) sum += firedAt - dueAt;
  }
  return sum / (n / 2);
}

describe("TimerLateness (the latency proxy's hold correction)", () => {
  it("makes whole-millisecond timers hold answers for the due time on average", () => {
    // Uncorrected, such timers fire about half a millisecond late on average.
    expect(meanLateness(undefined, 4_000)).toBeGreaterThan(0.4);
    expect(Math.abs(meanLateness(new TimerLateness(), 4_000))).toBeLessThan(0.05);
  });

  it("bounds its correction, so a stalled loop cannot make holds short for long", () => {
    const lateness = new TimerLateness(0.05, 2);
    for (let i = 0; i < 100; i++) lateness.learn(500);
    expect(lateness.correctionMs()).toBe(2);
    for (let i = 0; i < 1_000; i++) lateness.learn(-500);
    expect(lateness.correctionMs()).toBe(-2);
  });
});
