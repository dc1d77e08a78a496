import { describe, expect, it } from "vitest";
import { DEFAULT_STREAK_LIMIT, FailureStreak, RecentCount } from "../../../worker/core/failure-streak.ts";

describe("FailureStreak", () => {
  it("counts consecutive failures of a kind up to its limit (default 5)", () => {
    const streak = new FailureStreak();
    const steps = Array.from({ length: DEFAULT_STREAK_LIMIT }, () => streak.record("bad-request"));
    expect(steps.map((s) => s.count)).toEqual([1, 2, 3, 4, 5]);
    expect(steps.map((s) => s.exhausted)).toEqual([false, false, false, false, true]);
    expect(steps[0]).toMatchObject({ kind: "bad-request", limit: 5 });
  });

  it("keeps each kind's count apart, and failures of another kind do not reset it", () => {
    const streak = new FailureStreak({ "bad-request": 3, "token-refused": 2 });
    streak.record("bad-request");
    expect(streak.record("token-refused")).toMatchObject({ count: 1, exhausted: false });
    streak.record("bad-request");
    expect(streak.record("bad-request")).toMatchObject({ count: 3, limit: 3, exhausted: true });
    expect(streak.record("token-refused")).toMatchObject({ count: 2, limit: 2, exhausted: true });
  });

  it("starts over when a session goes live", () => {
    const streak = new FailureStreak({ "bad-request": 2 });
    streak.record("bad-request");
    streak.reset();
    expect(streak.count("bad-request")).toBe(0);
    expect(streak.record("bad-request")).toMatchObject({ count: 1, exhausted: false });
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    "a limit of %s falls back to the default",
    (limit) => {
      const streak = new FailureStreak({ "bad-request": limit });
      expect(streak.record("bad-request").limit).toBe(DEFAULT_STREAK_LIMIT);
    },
  );

  it("a limit of 1 stops at the first failure", () => {
    expect(new FailureStreak({ "token-refused": 1 }).record("token-refused").exhausted).toBe(true);
  });
});

describe("RecentCount (fake clock)", () => {
  it("counts occurrences within the sliding window only", () => {
    let now = 1_000_000;
    const recent = new RecentCount(60_000, () => now);
    expect(recent.record()).toBe(1);
    now += 30_000;
    expect(recent.record()).toBe(2);
    now += 29_999;
    expect(recent.record()).toBe(3);
    now += 1; // the first one is now exactly a window old
    expect(recent.count()).toBe(2);
    now += 60_000;
    expect(recent.count()).toBe(0);
    expect(recent.record()).toBe(1);
  });
});
