import { describe, expect, it } from "vitest";
import { GapTracker } from "../../../worker/core/gap-ledger.ts";
import { TopicCoverage, type TopicGap } from "../../../worker/core/topic-coverage.ts";

function setup() {
  let t = 1000;
  const now = () => t;
  const whole = new GapTracker(now);
  const topics = new TopicCoverage(now);
  const gaps: TopicGap[] = [];
  whole.onGap((g) => topics.globalGap(g));
  topics.onGap((g) => gaps.push(g));
  // What the supervisor does: the whole-worker tracker first, then the per-topic one.
  const live = (id: string, refused: string[] = []) => {
    if (refused.length > 0) topics.refused(id, refused);
    whole.sessionLive(id);
    topics.sessionLive(id);
  };
  const down = (id: string, coveredUntilMs?: number, evidence?: (topic: string) => number | undefined) => {
    whole.sessionDown(id, coveredUntilMs);
    topics.sessionDown(id, coveredUntilMs, evidence);
  };
  return { whole, topics, gaps, live, down, at: (ms: number) => (t = ms) };
}

describe("TopicCoverage", () => {
  it("a topic refused by one session while another covers it is no gap", () => {
    const { topics, gaps, live, down, at } = setup();
    live("a");
    at(2000);
    live("b", ["t1"]);
    at(5000);
    down("b");
    expect(gaps).toEqual([]);
    expect(topics.uncoveredTopics()).toEqual([]);
  });

  it("a topic refused by every live session is a gap for that topic until a session subscribes it", () => {
    const { topics, gaps, live, down, at } = setup();
    live("a", ["t1"]);
    at(1500);
    live("b", ["t1", "t2"]);
    expect(topics.uncoveredTopics().sort()).toEqual(["t1"]);
    at(4000);
    live("c"); // permission given back: c subscribed everything
    expect(gaps).toEqual([{ topic: "t1", startMs: 1000, endMs: 4000 }]);
    expect(topics.uncoveredTopics()).toEqual([]);
    at(6000);
    down("a");
    down("b");
    expect(gaps).toHaveLength(1);
  });

  it("a topic becomes uncovered when the last session covering it goes down", () => {
    const { gaps, live, down, at } = setup();
    live("a");
    at(2000);
    live("b", ["t1"]);
    at(3000);
    down("a");
    at(7000);
    live("c");
    expect(gaps).toEqual([{ topic: "t1", startMs: 3000, endMs: 7000 }]);
  });

  it("backdated silence of the last covering session is withdrawn for the topic", () => {
    const { gaps, live, down, at } = setup();
    live("a");
    live("b", ["t1"]);
    at(5000);
    down("a", 3000); // found silent: last frame at 3000
    at(6000);
    live("c");
    expect(gaps).toEqual([{ topic: "t1", startMs: 3000, endMs: 6000 }]);
  });

  it("does not report again what was already a whole-worker gap", () => {
    const { gaps, live, down, at } = setup();
    live("a", ["t1"]);
    at(2000);
    down("a");
    at(3000);
    live("b", ["t1"]); // whole-worker gap 2000..3000 reported by the whole-worker tracker
    at(5000);
    live("c");
    expect(gaps).toEqual([
      { topic: "t1", startMs: 1000, endMs: 2000 },
      { topic: "t1", startMs: 3000, endMs: 5000 },
    ]);
  });

  it("refusal announced after the session is live withdraws its coverage since it went live", () => {
    const { topics, gaps, whole, at } = setup();
    whole.sessionLive("a");
    topics.sessionLive("a");
    at(1200);
    topics.refused("a", ["t1"]);
    at(3000);
    whole.sessionLive("b");
    topics.sessionLive("b");
    expect(gaps).toEqual([{ topic: "t1", startMs: 1000, endMs: 3000 }]);
  });

  it("an open topic gap is closed at shutdown; a session that never went live leaves nothing behind", () => {
    const { topics, whole, gaps, live, at } = setup();
    live("a", ["t1"]);
    topics.refused("never-live", ["t2"]);
    topics.sessionDown("never-live");
    at(4000);
    whole.close();
    topics.close();
    expect(gaps).toEqual([{ topic: "t1", startMs: 1000, endMs: 4000 }]);
  });
});

describe("TopicCoverage: topics found gone mid-run", () => {
  it("withdraws the session's coverage of the topic back to when it was last confirmed", () => {
    const { topics, gaps, live, at } = setup();
    live("a");
    live("b");
    at(5000);
    topics.refused("a", ["t1"], 3000); // probe at 5000: gone since the probe at 3000
    expect(gaps).toEqual([]);
    at(6000);
    topics.refused("b", ["t1"], 4000);
    expect(topics.uncoveredTopics()).toEqual(["t1"]);
    at(9000);
    live("c");
    expect(gaps).toEqual([{ topic: "t1", startMs: 4000, endMs: 9000 }]);
  });

  it("a session that ended before the topic was found gone covered it only up to its evidence for it", () => {
    const { gaps, topics, live, down, at } = setup();
    live("a"); // the permission goes at 3000; nobody notices
    at(2000);
    live("b");
    at(6000);
    down("a", 6000, (topic) => (topic === "t1" ? 3000 : 5990)); // its last t1 event at 3000
    at(7000);
    topics.refused("b", ["t1"], 2000); // b's handover check finds t1 gone since b subscribed
    at(8000);
    live("c");
    expect(gaps).toEqual([{ topic: "t1", startMs: 3000, endMs: 8000 }]);
  });

  it("once a topic was found gone, sessions that end cover it only up to their evidence for it", () => {
    const { gaps, topics, live, down, at } = setup();
    live("a");
    live("b");
    at(2000);
    topics.refused("a", ["t1"], 1500);
    at(2500);
    topics.regained("a", ["t1"], 2500);
    expect(gaps).toEqual([]); // b covered t1 throughout, as far as anyone knows
    at(9000);
    down("a", 9000, () => 4000); // both lost it again at 4000, unnoticed: their last events say so
    down("b", 9000, () => 4100);
    at(9500);
    live("c");
    expect(gaps).toEqual([{ topic: "t1", startMs: 4100, endMs: 9000 }]);
  });

  it("a confirmation time before the session went live withdraws from its live time", () => {
    const { gaps, topics, live, at } = setup();
    at(2000);
    live("a");
    at(3000);
    topics.refused("a", ["t1"], 500);
    at(4000);
    live("b");
    expect(gaps).toEqual([{ topic: "t1", startMs: 2000, endMs: 4000 }]);
  });
});

describe("TopicCoverage: refused topics retried", () => {
  it("a retry that subscribes the topic on the same session ends its gap", () => {
    const { topics, gaps, live, at } = setup();
    live("a", ["t1"]);
    at(4000);
    topics.regained("a", ["t1"], 3500);
    expect(gaps).toEqual([{ topic: "t1", startMs: 1000, endMs: 3500 }]);
    expect(topics.uncoveredTopics()).toEqual([]);
    at(5000);
    topics.refused("a", ["t1"], 4500); // forbidden again
    at(6000);
    topics.regained("a", ["t1"], 6000);
    expect(gaps[1]).toEqual({ topic: "t1", startMs: 4500, endMs: 6000 });
  });

  it("regaining a topic the session never refused changes nothing", () => {
    const { topics, gaps, live, down, at } = setup();
    live("a", ["t1"]);
    live("b");
    topics.regained("b", ["t1"], 1000);
    at(3000);
    down("b");
    at(4000);
    live("c");
    expect(gaps).toEqual([{ topic: "t1", startMs: 3000, endMs: 4000 }]);
  });
});
