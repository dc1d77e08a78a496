import { describe, expect, it } from "vitest";
import type { NotificationEnvelope } from "../../../shared/contracts.ts";
import { contentKey } from "../../../worker/core/content-identity.ts";
import { type DedupeOptions, EventDeduper } from "../../../worker/core/dedupe.ts";

const ev = (
  body: unknown,
  cid: string | undefined = "c-1",
  topic = "v2.users.u1.presence",
): NotificationEnvelope => ({
  topicName: topic,
  version: "2",
  eventBody: body,
  ...(cid === undefined ? {} : { metadata: { CorrelationId: cid } }),
});

const LAG = 1_000;
const PROP = 500;

/** A deduper on a fake clock, with the emitted keys and released arrivals collected. */
function setup(opts: Partial<DedupeOptions> = {}) {
  let t = 1_000_000;
  const d = new EventDeduper({ lagBoundMs: LAG, propagationMs: PROP, instanceId: "w1", ...opts });
  const emitted: { key: string; contentKey: string; possibleDuplicate: boolean }[] = [];
  const silent: string[] = [];
  const collect = (r: ReturnType<EventDeduper["tick"]>) => {
    for (const a of r.released)
      emitted.push({ key: a.key, contentKey: a.contentKey, possibleDuplicate: true });
    silent.push(...r.silent);
  };
  const api = {
    d,
    emitted,
    silent,
    now: () => t,
    /** Moves the clock in small steps, ticking as the supervisor does. */
    advance(ms: number) {
      const end = t + ms;
      while (t < end) {
        t = Math.min(end, t + LAG / 4);
        collect(d.tick(t));
      }
    },
    live(id: string) {
      d.sessionLive(id, t);
    },
    close(id: string) {
      for (const a of d.sessionClosed(id, t)) {
        emitted.push({ key: a.key, contentKey: a.contentKey, possibleDuplicate: true });
      }
    },
    deliver(id: string, e: NotificationEnvelope) {
      const r = d.accept(id, e, t);
      if (r.emit) emitted.push({ key: r.key, contentKey: r.contentKey, possibleDuplicate: false });
      return r;
    },
  };
  return api;
}

/** Two sessions live long enough to be certainly subscribed. */
function mature(...ids: string[]) {
  const s = setup();
  for (const id of ids) s.live(id);
  s.advance(LAG + PROP + 10);
  return s;
}

describe("contentKey", () => {
  it("is 64 hex chars and ignores key order in the body and the version field", () => {
    const a = contentKey(ev({ x: 1, y: { b: 2, a: 1 } }));
    const b = contentKey({ ...ev({ y: { a: 1, b: 2 }, x: 1 }), version: "other" });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
  });

  it("differs by topic, body and CorrelationId, and cannot be confused by field boundaries", () => {
    const base = contentKey(ev({ x: 1 }));
    expect(contentKey(ev({ x: 2 }))).not.toBe(base);
    expect(contentKey(ev({ x: 1 }, "c-2"))).not.toBe(base);
    expect(contentKey(ev({ x: 1 }, "c-1", "other.topic"))).not.toBe(base);
    expect(contentKey(ev(1, undefined))).not.toBe(contentKey(ev(1, "null")));
    expect(contentKey({ topicName: "a,", eventBody: "b" })).not.toBe(
      contentKey({ topicName: "a", eventBody: ",b" }),
    );
  });

  it("is what accept() reports", () => {
    const s = mature("a");
    expect(s.deliver("a", ev({ n: 1 })).contentKey).toBe(contentKey(ev({ n: 1 })));
  });
});

describe("EventDeduper: copies of one event", () => {
  it("emits the same event delivered by several sessions once", () => {
    const s = mature("a", "b", "c");
    expect(s.deliver("a", ev({ n: 1 })).emit).toBe(true);
    s.advance(300);
    expect(s.deliver("b", ev({ n: 1 })).emit).toBe(false);
    expect(s.deliver("c", ev({ n: 1 })).emit).toBe(false);
    expect(s.emitted).toHaveLength(1);
  });

  it("de-duplicates copies up to the lag bound apart, whichever session is first", () => {
    const s = mature("a", "b");
    s.deliver("b", ev({ n: 1 }));
    s.advance(LAG - 10);
    expect(s.deliver("a", ev({ n: 1 })).emit).toBe(false);
    s.advance(LAG + 10);
    expect(s.emitted).toHaveLength(1);
    expect(s.silent).toEqual([]);
  });

  it("delivers a copy that lags beyond the bound (at-least-once, never a drop)", () => {
    const s = mature("a", "b");
    s.deliver("a", ev({ n: 1 }));
    s.advance(LAG + 1);
    expect(s.deliver("b", ev({ n: 1 })).emit).toBe(true);
  });
});

describe("EventDeduper: distinct events with identical content", () => {
  it("emits N identical events N times on two sessions, interleaved with lag", () => {
    const s = mature("a", "b");
    for (let i = 0; i < 5; i++) {
      s.deliver("a", ev("same"));
      s.advance(50);
    }
    for (let i = 0; i < 5; i++) {
      s.deliver("b", ev("same"));
      s.advance(50);
    }
    expect(s.emitted).toHaveLength(5);
    expect(new Set(s.emitted.map((e) => e.key)).size).toBe(5);
    expect(new Set(s.emitted.map((e) => e.contentKey)).size).toBe(1);
  });

  it("emits repeats on one session back to back (a session never duplicates itself)", () => {
    const s = mature("a");
    for (let i = 0; i < 3; i++) expect(s.deliver("a", ev({ k: 1 })).emit).toBe(true);
  });

  it("emits repeats at any interval, with keys that never repeat (70 s and 4 min apart)", () => {
    const s = setup({ lagBoundMs: 10_000, propagationMs: 5_000 });
    s.live("a");
    s.live("b");
    const keys: string[] = [];
    for (const gap of [0, 70_000, 240_000]) {
      s.advance(gap);
      const first = s.deliver("a", ev({ same: true }));
      expect(first.emit).toBe(true);
      keys.push(first.key);
      s.advance(2_000);
      expect(s.deliver("b", ev({ same: true })).emit).toBe(false);
    }
    expect(new Set(keys).size).toBe(3);
  });

  it("emits both identical events across a rotation (redundancy 1) when the old session drains", () => {
    const s = mature("old");
    s.deliver("old", ev("x")); // event 1: the new session is not subscribed yet
    s.advance(100);
    s.live("new");
    s.advance(300);
    s.deliver("new", ev("x")); // event 2 on the new session: matched to event 1 for now
    s.advance(200);
    s.deliver("old", ev("x")); // event 2 on the old session: a new occurrence
    s.advance(LAG + 100);
    s.deliver("old", ev("other")); // the old session is still delivering: the match is confirmed
    s.deliver("new", ev("other"));
    s.advance(100);
    s.close("old");
    s.advance(3 * LAG);
    expect(s.emitted.filter((e) => e.contentKey === contentKey(ev("x")))).toHaveLength(2);
    expect(s.emitted.every((e) => !e.possibleDuplicate)).toBe(true);
  });

  it("emits all 7 identical events when both slots rotate at once (maintenance)", () => {
    const s = mature("a1", "a2");
    const x = ev({ burst: 1 }, undefined);
    // Events 1-3 on the old sessions only.
    for (let i = 0; i < 3; i++) {
      s.deliver("a1", x);
      s.deliver("a2", x);
      s.advance(100);
    }
    s.live("b1");
    s.live("b2");
    // Events 4-7 reach every session, the new ones first (the old ones lag).
    for (let i = 0; i < 4; i++) {
      s.deliver("b1", x);
      s.deliver("b2", x);
      s.advance(100);
    }
    for (let i = 0; i < 4; i++) {
      s.deliver("a1", x);
      s.deliver("a2", x);
      s.advance(50);
    }
    s.advance(LAG);
    s.deliver("a1", ev("later"));
    s.deliver("b1", ev("later"));
    s.close("a1");
    s.close("a2");
    s.advance(3 * LAG);
    expect(s.emitted.filter((e) => e.contentKey === contentKey(x))).toHaveLength(7);
  });

  it("releases a held match of repeating content, marked, when the old session fails before vouching", () => {
    const s = mature("old");
    s.deliver("old", ev("x")); // events 1 and 2, identical
    s.deliver("old", ev("x"));
    s.live("new");
    s.advance(200);
    expect(s.deliver("new", ev("x")).emit).toBe(false); // a copy of 1 or 2, or a third?
    expect(s.d.pendingCount()).toBe(1);
    s.close("old"); // the old session ends without showing it went on delivering
    expect(s.emitted).toHaveLength(3);
    expect(s.emitted[2]).toMatchObject({ possibleDuplicate: true, contentKey: contentKey(ev("x")) });
    expect(new Set(s.emitted.map((e) => e.key)).size).toBe(3);
  });

  it("settles a held match of content seen once as a copy when the peer fails (the stated residual case)", () => {
    const s = mature("old");
    s.deliver("old", ev("once"));
    s.live("new");
    s.deliver("new", ev("once"));
    s.close("old");
    expect(s.emitted).toHaveLength(1);
    expect(s.d.pendingCount()).toBe(0);
  });

  it("confirms a held match when the peer keeps delivering past the lag bound (a true copy)", () => {
    const s = mature("old");
    s.deliver("old", ev("x"));
    s.live("new");
    s.advance(200);
    s.deliver("new", ev("x")); // the lagging copy of the same event
    s.advance(2 * LAG); // past the new session's young period, so y is no longer ambiguous
    s.deliver("old", ev("y"));
    s.deliver("new", ev("y"));
    s.advance(50);
    s.close("old");
    expect(s.emitted).toHaveLength(2); // x and y, once each
    expect(s.d.pendingCount()).toBe(0);
  });

  it("confirms a held match when the peer, delivering around then, is closed in order after the lag bound", () => {
    const s = mature("old");
    s.deliver("old", ev("x"));
    s.live("new");
    s.advance(200);
    s.deliver("new", ev("x"));
    s.advance(LAG + 100); // a quiet stream: nothing more from anyone
    for (const a of s.d.sessionClosed("old", s.now(), true)) s.emitted.push({ ...a });
    expect(s.emitted).toHaveLength(1);
  });

  it("at shutdown settles what it holds: confirmed by an open, recently delivering peer, else released", () => {
    const s = mature("old", "other");
    s.deliver("old", ev("x"));
    s.deliver("other", ev("y"));
    s.deliver("other", ev("y"));
    s.live("new");
    s.advance(100);
    s.deliver("new", ev("x")); // held, relying on old (still open, delivering)
    s.close("other");
    s.deliver("new", ev("y")); // held, relying on other (already closed after a failure)
    s.advance(100);
    expect(s.emitted.filter((e) => e.possibleDuplicate).map((e) => e.contentKey)).toEqual([
      contentKey(ev("y")),
    ]);
    expect(s.d.pendingCount()).toBe(1);
    s.advance(LAG); // x: the open peer is vouched for at shutdown once the lag bound has passed
    expect(s.d.close(s.now())).toEqual([]);
    expect(s.d.pendingCount()).toBe(0);
  });

  it("at shutdown, a held match relying on an open, delivering peer is settled (in flight, like any event)", () => {
    const s = mature("old");
    s.deliver("old", ev("x"));
    s.live("new");
    s.deliver("new", ev("x")); // relies on old, delivering right now
    expect(s.d.pendingCount()).toBe(1);
    s.advance(100);
    expect(s.d.close(s.now())).toEqual([]);
    expect(s.d.pendingCount()).toBe(0);
  });

  it("settles a held match from delivery order: a later event both delivered shows it was a copy", () => {
    for (const newFirst of [false, true]) {
      const s = mature("old");
      s.deliver("old", ev("x")); // repeating content: a held match of it would be released if unsettled
      s.deliver("old", ev("x"));
      s.live("new");
      s.deliver("new", ev("x")); // held: a copy of x, or a distinct repeat?
      // A later event of the topic reaches both (in either order): had a distinct repeat been published
      // between, the old session would have delivered it before this one.
      if (newFirst) {
        s.deliver("new", ev("later"));
        s.deliver("old", ev("later"));
      } else {
        s.deliver("old", ev("later"));
        s.deliver("new", ev("later"));
      }
      s.close("old"); // fails right after: x is no longer held, so it is not released
      const released = s.emitted.filter((e) => e.possibleDuplicate).map((e) => e.contentKey);
      expect(released).not.toContain(contentKey(ev("x")));
      // "later" (held when the old session delivered it first) occurred once: settled as a copy.
      expect(released).toEqual([]);
    }
  });

  it("does not settle from a later event of another topic (subscriptions take effect per topic)", () => {
    const s = mature("old");
    s.deliver("old", ev("x"));
    s.deliver("old", ev("x"));
    s.live("new");
    s.deliver("new", ev("x"));
    s.deliver("old", ev("later", "c-1", "another.topic"));
    s.deliver("new", ev("later", "c-1", "another.topic"));
    s.close("old");
    expect(s.emitted.filter((e) => e.possibleDuplicate).map((e) => e.contentKey)).toContain(
      contentKey(ev("x")),
    );
  });

  it("releases a held match after maxPendingMs when the peer delivers nothing (quiet stream)", () => {
    const s = setup({ maxPendingMs: 5_000 });
    s.live("old");
    s.advance(LAG + PROP + 10);
    s.deliver("old", ev("x"));
    s.deliver("old", ev("x"));
    s.live("new");
    s.deliver("new", ev("x"));
    s.advance(4_000);
    expect(s.emitted).toHaveLength(2);
    s.advance(1_100);
    expect(s.emitted).toHaveLength(3);
    expect(s.emitted[2]!.possibleDuplicate).toBe(true);
  });

  it("treats a generic stream's repeated payloads (no CorrelationId) the same way", () => {
    const s = mature("a", "b");
    const p = ev({ price: 10 }, undefined, "ticker");
    for (let i = 0; i < 4; i++) {
      s.deliver("a", p);
      s.deliver("b", p);
      s.advance(LAG / 2);
    }
    expect(s.emitted).toHaveLength(4);
  });

  it("gives a restarted worker (another instance id) keys of its own", () => {
    const one = mature("a");
    const two = setup({ instanceId: "w2" });
    two.live("a");
    const k1 = one.deliver("a", ev(1)).key;
    const k2 = two.deliver("a", ev(1)).key;
    expect(k1).not.toBe(k2);
    expect(k1.startsWith(contentKey(ev(1)).slice(0, 32))).toBe(true);
  });

  it("makes keys SQS accepts as MessageDeduplicationId, unique over many emissions", () => {
    const s = mature("a");
    const keys = new Set<string>();
    for (let i = 0; i < 20_000; i++) keys.add(s.deliver("a", ev("same")).key);
    expect(keys.size).toBe(20_000);
    for (const k of [...keys].slice(-3)) expect(k).toMatch(/^[\x21-\x7e]{1,128}$/);
  });
});

describe("EventDeduper: silent sessions", () => {
  it("reports a mature session that misses its peer's events past the lag bound", () => {
    const s = mature("a", "b");
    for (let i = 0; i < 3; i++) {
      s.deliver("a", ev({ i }));
      s.advance(100);
    }
    s.advance(LAG);
    expect(s.silent).toEqual(["b"]);
    expect(s.d.lastEventAtMs("b")).toBeLessThan(s.now() - LAG);
  });

  it("does not report a session that merely lags within the bound, nor a young one", () => {
    const s = mature("a", "b");
    s.live("young");
    for (let i = 0; i < 5; i++) {
      s.deliver("a", ev({ i }));
      s.advance(100);
      s.deliver("b", ev({ i }));
    }
    s.advance(2 * LAG);
    expect(s.silent).toEqual([]);
  });

  it("resets the miss count when the session accounts for an occurrence", () => {
    const s = mature("a", "b");
    for (let round = 0; round < 3; round++) {
      s.deliver("a", ev({ round, miss: 1 }));
      s.deliver("a", ev({ round, miss: 2 }));
      s.deliver("a", ev({ round, hit: true }));
      s.deliver("b", ev({ round, hit: true }));
      s.advance(LAG + 10);
    }
    expect(s.silent).toEqual([]);
  });

  it("releases held matches that relied on a session found silent", () => {
    const s = mature("p", "q");
    s.deliver("p", ev("x"));
    s.deliver("p", ev("x"));
    s.live("s");
    s.deliver("s", ev("x")); // held: only p can vouch that this is a copy
    for (let i = 0; i < 3; i++) s.deliver("q", ev({ i })); // p misses these
    s.advance(LAG + 100);
    expect(s.silent).toEqual(["p"]);
    expect(s.emitted.filter((e) => e.possibleDuplicate)).toHaveLength(1);
  });
});

describe("EventDeduper: memory", () => {
  it("forgets occurrences after the lag bound", () => {
    const s = mature("a", "b");
    for (let i = 0; i < 500; i++) {
      s.deliver("a", ev({ i }));
      s.deliver("b", ev({ i }));
      s.advance(10);
    }
    expect(s.d.size()).toBeGreaterThanOrEqual(LAG / 10 - 30);
    expect(s.d.size()).toBeLessThanOrEqual(LAG / 10 + 1);
    s.advance(LAG + 1);
    expect(s.d.size()).toBe(0);
  });

  it("rejects bad options", () => {
    expect(() => new EventDeduper({ lagBoundMs: 0, instanceId: "x" })).toThrow(RangeError);
    expect(() => new EventDeduper({ propagationMs: -1, instanceId: "x" })).toThrow(RangeError);
    expect(() => new EventDeduper({ instanceId: "has space" })).toThrow(RangeError);
  });
});

describe("EventDeduper: session numbers (the seen sets hold 64)", () => {
  it("keeps matching correctly through hundreds of rotations (closed sessions' numbers come back)", () => {
    const s = mature("a0", "b0");
    let emitted = 0;
    for (let r = 1; r <= 300; r++) {
      // Slot a rotates: its replacement overlaps it, both deliver the same events, then the old one closes.
      s.live(`a${r}`);
      s.advance(PROP + LAG + 1);
      s.deliver(`a${r - 1}`, ev({ r }));
      s.deliver(`a${r}`, ev({ r }));
      s.deliver("b0", ev({ r }));
      s.deliver(`a${r}`, ev({ again: r })); // distinct content, once
      s.close(`a${r - 1}`);
      emitted += 2;
      expect(s.emitted).toHaveLength(emitted);
    }
    expect(s.emitted.every((e) => !e.possibleDuplicate)).toBe(true);
  });

  it("when 64 sessions closed within the lag bound hold every number, the oldest gives its number up", () => {
    const s = mature("p");
    for (let i = 0; i < 70; i++) {
      s.live(`short${i}`);
      s.deliver(`short${i}`, ev({ i }));
      s.close(`short${i}`);
    }
    const before = s.emitted.length;
    s.deliver("p", ev({ fresh: 1 }));
    s.deliver("p", ev({ fresh: 1 })); // a distinct repeat on one session: both delivered
    expect(s.emitted.length - before).toBe(2);
  });

  it("refuses a 65th open session (the worker runs at most 10 slots, each up to three sessions)", () => {
    const s = setup();
    for (let i = 0; i < 64; i++) s.live(`s${i}`);
    expect(() => s.live("s64")).toThrow(RangeError);
  });
});
