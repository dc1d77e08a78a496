import { describe, expect, it } from "vitest";
import { deriveCoverage } from "../../../worker/coverage/coverage-gaps.ts";
import type { CoverageSnapshot } from "../../../worker/coverage/coverage-records.ts";

const opts = { staleAfterMs: 1_000, lookbackMs: 1_000_000 };
const task = (taskId: string, startedAtMs: number, heartbeatAtMs: number, stoppedAtMs?: number) => ({
  taskId,
  startedAtMs,
  heartbeatAtMs,
  ...(stoppedAtMs !== undefined ? { stoppedAtMs } : {}),
});
const stretch = (taskId: string, sinceMs: number, liveAtMs: number, ended = false) => ({
  taskId,
  sinceMs,
  liveAtMs,
  ended,
});

describe("deriveCoverage (uncovered intervals from the coverage ledger)", () => {
  it("a predecessor that died without a word: the gap runs from its last heartbeat to the successor going live", () => {
    const snap: CoverageSnapshot = {
      tasks: [task("a", 0, 10_000), task("b", 25_000, 40_000)],
      stretches: [stretch("a", 500, 9_800), stretch("b", 26_000, 39_900)],
    };
    const view = deriveCoverage(snap, 40_000, opts);
    expect(view.closed).toEqual([
      { startMs: 0, endMs: 500 },
      { startMs: 9_800, endMs: 26_000 },
    ]);
    expect(view.openSinceMs).toBeUndefined();
  });

  it("a dead task is not taken for dead before its heartbeat is stale: no gap yet, then exactly that gap", () => {
    const snap: CoverageSnapshot = {
      tasks: [task("a", 0, 10_000), task("b", 10_100, 10_400)],
      stretches: [stretch("a", 0, 10_000), stretch("b", 10_300, 10_400)],
    };
    // a's last heartbeat is not stale yet: it may be alive, covering to now.
    expect(deriveCoverage(snap, 10_900, opts).closed).toEqual([]);
    expect(deriveCoverage(snap, 11_100, opts).closed).toEqual([{ startMs: 10_000, endMs: 10_300 }]);
  });

  it("a task that never goes live: the whole interval is open while nothing covers, closed when coverage returns", () => {
    const never: CoverageSnapshot = {
      tasks: [task("a", 1_000, 120_000), task("b", 60_000, 120_000)],
      stretches: [],
    };
    const open = deriveCoverage(never, 120_000, opts);
    expect(open.closed).toEqual([]);
    expect(open.openSinceMs).toBe(1_000);
    const restored = { ...never, stretches: [stretch("b", 121_000, 122_000)] };
    expect(deriveCoverage(restored, 122_000, opts).closed).toEqual([{ startMs: 1_000, endMs: 121_000 }]);
  });

  it("overlapping tasks cover each other's lapses; a lapse nobody covers is a gap", () => {
    const snap: CoverageSnapshot = {
      tasks: [task("a", 0, 50_000), task("b", 0, 50_000)],
      stretches: [
        stretch("a", 100, 20_000, true),
        stretch("a", 30_000, 50_000),
        stretch("b", 200, 25_000, true),
        stretch("b", 26_000, 50_000),
      ],
    };
    const view = deriveCoverage(snap, 50_000, opts);
    expect(view.closed).toEqual([
      { startMs: 0, endMs: 100 },
      { startMs: 25_000, endMs: 26_000 },
    ]);
  });

  it("a clean stop ends coverage at the stretch's end even though the record is fresh", () => {
    const snap: CoverageSnapshot = {
      tasks: [task("a", 0, 10_000, 10_000), task("b", 12_000, 14_000)],
      stretches: [stretch("a", 0, 9_990, true), stretch("b", 13_000, 14_000)],
    };
    expect(deriveCoverage(snap, 14_000, opts).closed).toEqual([{ startMs: 9_990, endMs: 13_000 }]);
  });

  it("holes starting before the look-back are not reported (their records may have expired)", () => {
    const snap: CoverageSnapshot = {
      tasks: [task("a", 0, 5_000_000)],
      stretches: [stretch("a", 4_500_000, 5_000_000)],
    };
    expect(deriveCoverage(snap, 5_000_000, opts).closed).toEqual([]);
    expect(deriveCoverage({ tasks: [], stretches: [] }, 1, opts)).toEqual({
      closed: [],
      openSinceMs: undefined,
    });
  });
});
