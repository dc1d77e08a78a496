import { describe, expect, it } from "vitest";
import { type Gap, GapTracker, toGapMessage } from "../../../worker/core/gap-ledger.ts";

function setup() {
  let t = 1000;
  const tracker = new GapTracker(() => t);
  const gaps: Gap[] = [];
  tracker.onGap((g) => gaps.push(g));
  return { tracker, gaps, at: (ms: number) => (t = ms) };
}

describe("GapTracker", () => {
  it("start-up before the first live session is not a gap", () => {
    const { tracker, gaps, at } = setup();
    at(5000);
    tracker.sessionLive("a");
    expect(gaps).toEqual([]);
    expect(tracker.liveCount()).toBe(1);
  });

  it("overlapping sessions (make-before-break) leave no gap", () => {
    const { tracker, gaps, at } = setup();
    tracker.sessionLive("a");
    at(2000);
    tracker.sessionLive("b");
    tracker.sessionDown("a");
    at(3000);
    tracker.sessionLive("c");
    tracker.sessionDown("b");
    expect(gaps).toEqual([]);
  });

  it("reports every interval with zero live sessions when coverage returns", () => {
    const { tracker, gaps, at } = setup();
    tracker.sessionLive("a");
    tracker.sessionLive("b");
    at(2000);
    tracker.sessionDown("a");
    at(2500);
    tracker.sessionDown("b");
    expect(tracker.openGapSinceMs()).toBe(2500);
    at(4000);
    tracker.sessionLive("c");
    at(5000);
    tracker.sessionDown("c");
    at(5001);
    tracker.sessionLive("d");
    expect(gaps).toEqual([
      { startMs: 2500, endMs: 4000 },
      { startMs: 5000, endMs: 5001 },
    ]);
  });

  it("ignores repeated and unknown session ids", () => {
    const { tracker, gaps, at } = setup();
    tracker.sessionLive("a");
    tracker.sessionLive("a");
    tracker.sessionDown("zzz");
    expect(tracker.liveCount()).toBe(1);
    at(2000);
    tracker.sessionDown("a");
    tracker.sessionDown("a");
    at(3000);
    tracker.sessionLive("a");
    expect(gaps).toEqual([{ startMs: 2000, endMs: 3000 }]);
  });

  it("closes an open gap at shutdown, once", () => {
    const { tracker, gaps, at } = setup();
    tracker.sessionLive("a");
    at(2000);
    tracker.sessionDown("a");
    at(9000);
    tracker.close();
    tracker.close();
    tracker.sessionLive("b");
    expect(gaps).toEqual([{ startMs: 2000, endMs: 9000 }]);
  });

  it("a shutdown with live sessions reports no gap", () => {
    const { tracker, gaps } = setup();
    tracker.sessionLive("a");
    tracker.close();
    tracker.sessionDown("a");
    expect(gaps).toEqual([]);
  });
});

describe("GapTracker: coverage from evidence", () => {
  it("records staggered silence: the first replacement went live before the second was declared dead", () => {
    const { tracker, gaps, at } = setup();
    tracker.sessionLive("a", 1000);
    tracker.sessionLive("b", 1000);
    // a's last frame at 10_000, b's at 12_500; a is declared dead first and replaced.
    at(75_000);
    tracker.sessionDown("a", 10_000);
    at(76_000);
    tracker.sessionLive("a2");
    expect(gaps).toEqual([]);
    at(77_500);
    tracker.sessionDown("b", 12_500);
    expect(gaps).toEqual([{ startMs: 12_500, endMs: 76_000 }]);
    expect(tracker.liveCount()).toBe(1);
  });

  it("backdates a gap to the last evidence when both die together", () => {
    const { tracker, gaps, at } = setup();
    tracker.sessionLive("a");
    tracker.sessionLive("b");
    at(70_000);
    tracker.sessionDown("a", 5_000);
    tracker.sessionDown("b", 6_000);
    expect(tracker.openGapSinceMs()).toBe(6_000);
    at(71_000);
    tracker.sessionLive("c");
    expect(gaps).toEqual([{ startMs: 6_000, endMs: 71_000 }]);
  });

  it("withdrawn coverage that another session covered is no gap", () => {
    const { tracker, gaps, at } = setup();
    tracker.sessionLive("a");
    tracker.sessionLive("b");
    at(30_000);
    tracker.sessionDown("a", 2_000); // silent since 2 s, but b delivered throughout
    at(31_000);
    tracker.sessionLive("a2");
    expect(gaps).toEqual([]);
  });

  it("never reports the same interval twice when later evidence widens a reported gap", () => {
    const { tracker, gaps, at } = setup();
    tracker.sessionLive("a", 1000);
    tracker.sessionLive("b", 1000);
    at(5000);
    tracker.sessionDown("a");
    tracker.sessionDown("b");
    at(6000);
    tracker.sessionLive("c");
    expect(gaps).toEqual([{ startMs: 5000, endMs: 6000 }]);
    // c turns out to have been silent since it went live; d took over at 9000.
    at(9000);
    tracker.sessionLive("d");
    at(9500);
    tracker.sessionDown("c", 6000);
    expect(gaps).toEqual([
      { startMs: 5000, endMs: 6000 },
      { startMs: 6000, endMs: 9000 },
    ]);
  });
});

describe("toGapMessage", () => {
  it("builds the tokenstream.gap message", () => {
    expect(toGapMessage({ startMs: 0, endMs: 1500 }, ["t1", "t2"])).toEqual({
      kind: "gap",
      topicName: "tokenstream.gap",
      start: "1970-01-01T00:00:00.000Z",
      end: "1970-01-01T00:00:01.500Z",
      durationMs: 1500,
      topics: ["t1", "t2"],
    });
  });
});
