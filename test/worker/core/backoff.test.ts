import { describe, expect, it } from "vitest";
import { FullJitterBackoff, MIN_FLOOR_MS } from "../../../worker/core/backoff.ts";

function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("FullJitterBackoff", () => {
  it("grows the ceiling exponentially up to the cap (random = 1 shows the ceiling)", () => {
    const c = clock();
    const b = new FullJitterBackoff({ baseMs: 500, capMs: 30_000 }, () => 1, c.now);
    const delays = Array.from({ length: 10 }, () => b.nextDelayMs());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(b.attempts).toBe(10);
  });

  it("is full jitter: random * ceiling, with a floor so it is never a 0 ms loop", () => {
    const b = new FullJitterBackoff({ baseMs: 500, capMs: 30_000 }, () => 0.5, clock().now);
    b.nextDelayMs();
    b.nextDelayMs();
    expect(b.nextDelayMs()).toBe(1000); // 0.5 * 2000
    const zero = new FullJitterBackoff({}, () => 0, clock().now);
    for (let i = 0; i < 50; i++) expect(zero.nextDelayMs()).toBeGreaterThanOrEqual(100);
    const tinyFloor = new FullJitterBackoff({ floorMs: 0 }, () => 0, clock().now);
    expect(tinyFloor.nextDelayMs()).toBe(MIN_FLOOR_MS);
  });

  it("stays within [floor, cap] for any random value, even after very many attempts", () => {
    const b = new FullJitterBackoff({ baseMs: 500, capMs: 30_000 }, Math.random, clock().now);
    for (let i = 0; i < 2000; i++) {
      const d = b.nextDelayMs();
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(30_000);
      expect(Number.isFinite(d)).toBe(true);
    }
    const weird = new FullJitterBackoff({}, () => Number.NaN, clock().now);
    expect(weird.nextDelayMs()).toBe(500);
  });

  it("honours a minimum delay such as Retry-After", () => {
    const b = new FullJitterBackoff({}, () => 0, clock().now);
    expect(b.nextDelayMs(7000)).toBe(7000);
    expect(b.nextDelayMs(Number.NaN)).toBe(100);
  });

  it("resets attempts only after resetAfterStableMs of uptime", () => {
    const c = clock();
    const b = new FullJitterBackoff({ resetAfterStableMs: 60_000 }, () => 1, c.now);
    for (let i = 0; i < 5; i++) b.nextDelayMs();
    b.connected();
    c.advance(59_999);
    expect(b.attempts).toBe(5);
    c.advance(1);
    expect(b.attempts).toBe(0);
    b.failed();
    expect(b.nextDelayMs()).toBe(500);
  });

  it("never resets while the connection flaps (up for less than the stable time each time)", () => {
    const c = clock();
    const b = new FullJitterBackoff({ resetAfterStableMs: 60_000 }, () => 1, c.now);
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      b.connected();
      c.advance(30_000);
      b.failed();
      delays.push(b.nextDelayMs());
      c.advance(delays.at(-1)!);
    }
    expect(b.attempts).toBe(12);
    expect(delays.slice(-4)).toEqual([30000, 30000, 30000, 30000]);
  });

  it("asking for a delay ends the uptime: a later stable check does not reset a failing connection", () => {
    const c = clock();
    const b = new FullJitterBackoff({ resetAfterStableMs: 1000 }, () => 1, c.now);
    b.connected();
    c.advance(500);
    b.nextDelayMs(); // failure without an explicit failed()
    c.advance(5000);
    expect(b.attempts).toBe(1);
  });
});
