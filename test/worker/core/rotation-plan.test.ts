import { describe, expect, it } from "vitest";
import { canRotateNow, planRotationAt, RotationStagger } from "../../../worker/core/rotation-plan.ts";

const HOUR = 3_600_000;

describe("planRotationAt", () => {
  it("rotates a single session at 75% of the token life", () => {
    expect(
      planRotationAt({ issuedAtMs: 0, expiresAtMs: HOUR, sessionIndex: 0, redundancy: 1 }, () => 0),
    ).toBe(0.75 * HOUR);
  });

  it("staggers redundant sessions one slot apart, all before expiry", () => {
    const at = [0, 1].map((i) =>
      planRotationAt({ issuedAtMs: 0, expiresAtMs: HOUR, sessionIndex: i, redundancy: 2 }, () => 0),
    );
    expect(at).toEqual([0.75 * HOUR, 0.75 * HOUR - 0.125 * HOUR]);
  });

  it.each([
    [4_000, 2],
    [4_000, 3],
    [300_000, 2],
    [86_400_000, 2],
    [172_800_000, 4],
    [1_000, 2],
  ])("never lets two sessions meet, jitter included (life %i ms, %i sessions)", (life, n) => {
    for (let trial = 0; trial < 200; trial++) {
      const rnd = Math.random;
      const issuedAtMs = 1_700_000_000_000;
      const times = Array.from({ length: n }, (_, i) =>
        planRotationAt(
          { issuedAtMs, expiresAtMs: issuedAtMs + life, sessionIndex: i, redundancy: n, jitterMs: life },
          rnd,
        ),
      );
      const slot = (0.25 * life) / n;
      for (let i = 0; i < n; i++) {
        expect(times[i]!).toBeLessThan(issuedAtMs + life - slot + 1);
        expect(times[i]!).toBeGreaterThan(issuedAtMs);
        for (let j = i + 1; j < n; j++) expect(times[i]! - times[j]!).toBeGreaterThanOrEqual(slot / 2 - 1);
      }
    }
  });

  it("uses the channel expiry when it comes before the token expiry", () => {
    const t = planRotationAt(
      {
        issuedAtMs: 0,
        expiresAtMs: 48 * HOUR,
        channelExpiresAtMs: 24 * HOUR,
        sessionIndex: 0,
        redundancy: 1,
      },
      () => 0,
    );
    expect(t).toBe(18 * HOUR);
  });

  it("plans from notBeforeMs for a token handed out late in its life, never in the past", () => {
    const t = planRotationAt(
      { issuedAtMs: 0, expiresAtMs: 1000, notBeforeMs: 800, sessionIndex: 0, redundancy: 1 },
      () => 0,
    );
    expect(t).toBe(950);
    expect(t).toBeGreaterThanOrEqual(800);
  });

  it("rejects a refresh fraction outside (0, 1)", () => {
    expect(() =>
      planRotationAt({ issuedAtMs: 0, expiresAtMs: 1, sessionIndex: 0, redundancy: 1, refreshFraction: 1 }),
    ).toThrow(RangeError);
  });
});

describe("runtime stagger", () => {
  it("canRotateNow: planned rotations wait for others, urgent ones never do", () => {
    expect(canRotateNow(0)).toBe(true);
    expect(canRotateNow(1)).toBe(false);
    expect(canRotateNow(1, true)).toBe(true);
  });

  it("RotationStagger admits one planned rotation at a time with a minimum spacing", () => {
    let t = 0;
    const s = new RotationStagger({ minSpacingMs: 100 }, () => t);
    expect(s.tryStart("a")).toBe(true);
    expect(s.tryStart("a")).toBe(false);
    expect(s.tryStart("b")).toBe(false);
    expect(s.waitMs()).toBe(Number.POSITIVE_INFINITY);
    s.finish("a");
    t = 50;
    expect(s.waitMs()).toBe(50);
    expect(s.tryStart("b")).toBe(false);
    t = 100;
    expect(s.tryStart("b")).toBe(true);
    expect(s.tryStart("c", true)).toBe(true);
    expect(s.inFlight()).toBe(2);
  });
});
