import { describe, expect, it } from "vitest";
import type { NotificationEnvelope } from "../../../shared/contracts.ts";
import {
  CrossSessionDeduper,
  DEDUPE_SLICES,
  eventKey,
  SESSION_IDLE_WINDOWS,
} from "../../../worker/core/dedupe.ts";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const ev = (body: unknown, cid = "c-1", topic = "v2.users.u1.presence"): NotificationEnvelope => ({
  topicName: topic,
  version: "2",
  eventBody: body,
  metadata: { CorrelationId: cid },
});

describe("eventKey", () => {
  it("is 64 hex chars and ignores key order in the body and the version field", () => {
    const a = eventKey(ev({ x: 1, y: { b: 2, a: 1 } }), 1);
    const b = eventKey({ ...ev({ y: { a: 1, b: 2 }, x: 1 }), version: "other" }, 1);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
  });

  it("differs by topic, body, CorrelationId and ordinal", () => {
    const base = eventKey(ev({ x: 1 }), 1);
    expect(eventKey(ev({ x: 1 }), 2)).not.toBe(base);
    expect(eventKey(ev({ x: 2 }), 1)).not.toBe(base);
    expect(eventKey(ev({ x: 1 }, "c-2"), 1)).not.toBe(base);
    expect(eventKey(ev({ x: 1 }, "c-1", "other.topic"), 1)).not.toBe(base);
    expect(eventKey({ topicName: "t", eventBody: 1 }, 1)).not.toBe(
      eventKey({ topicName: "t", eventBody: 1, metadata: { CorrelationId: "null" } }, 1),
    );
  });

  it("cannot be confused by field boundaries", () => {
    expect(eventKey({ topicName: "a,", eventBody: "b" }, 1)).not.toBe(
      eventKey({ topicName: "a", eventBody: ",b" }, 1),
    );
  });
});

describe("CrossSessionDeduper", () => {
  it("emits an event seen on several sessions once, with the same key", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 10_000 }, c.now);
    const a = d.accept("s1", ev({ n: 1 }));
    const b = d.accept("s2", ev({ n: 1 }));
    const third = d.accept("s3", ev({ n: 1 }));
    expect(a.emit).toBe(true);
    expect(b.emit).toBe(false);
    expect(third.emit).toBe(false);
    expect(b.key).toBe(a.key);
  });

  it("emits the k-th identical event on one session as a distinct event, once across sessions", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 10_000 }, c.now);
    const s1 = [d.accept("s1", ev({ n: 1 })), d.accept("s1", ev({ n: 1 })), d.accept("s1", ev({ n: 1 }))];
    expect(s1.map((r) => r.emit)).toEqual([true, true, true]);
    expect(new Set(s1.map((r) => r.key)).size).toBe(3);
    expect(s1.map((r) => r.ordinal)).toEqual([1, 2, 3]);
    // The second session delivers the same three events: all duplicates, same keys in the same order.
    const s2 = [d.accept("s2", ev({ n: 1 })), d.accept("s2", ev({ n: 1 })), d.accept("s2", ev({ n: 1 }))];
    expect(s2.map((r) => r.emit)).toEqual([false, false, false]);
    expect(s2.map((r) => r.key)).toEqual(s1.map((r) => r.key));
    // ...and a fourth identical one that only s2 saw is new.
    expect(d.accept("s2", ev({ n: 1 })).emit).toBe(true);
    expect(d.accept("s1", ev({ n: 1 })).emit).toBe(false);
  });

  it("interleaved delivery across sessions still emits each event exactly once", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 10_000 }, c.now);
    const emitted: string[] = [];
    const events = Array.from({ length: 50 }, (_, i) => ev({ i: i % 7 }, `c-${i % 5}`));
    // s2 lags behind s1 by 3 events and misses every 10th.
    for (let i = 0; i < events.length + 3; i++) {
      if (i < events.length) {
        const r = d.accept("s1", events[i]!);
        if (r.emit) emitted.push(r.key);
      }
      const j = i - 3;
      if (j >= 0 && j % 10 !== 0) {
        const r = d.accept("s2", events[j]!);
        if (r.emit) emitted.push(r.key);
      }
    }
    const expected = events.map((e, i) =>
      eventKey(e, events.slice(0, i + 1).filter((x) => eventKey(x, 1) === eventKey(e, 1)).length),
    );
    expect(emitted).toEqual(expected);
  });

  it("forgets content after the window (memory bounded by time), and a late copy is emitted again", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 1000 }, c.now);
    for (let i = 0; i < 500; i++) {
      d.accept("s1", ev({ i }));
      d.accept("s2", ev({ i }));
      c.advance(10);
    }
    // Only what was seen during about the last window is remembered (expiry sweeps every window/10).
    expect(d.size()).toBeGreaterThanOrEqual(100);
    expect(d.size()).toBeLessThanOrEqual(110);
    c.advance(1000);
    d.evictExpired();
    expect(d.size()).toBe(0);
    expect(d.accept("s2", ev({ i: 499 })).emit).toBe(true);
  });

  it("keeps a record alive while it keeps being seen within the window", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 1000 }, c.now);
    expect(d.accept("s1", ev({ k: 1 })).emit).toBe(true);
    for (const session of ["s2", "s3", "s4", "s5"]) {
      c.advance(800);
      expect(d.accept(session, ev({ k: 1 })).emit).toBe(false);
    }
    // Forgotten between windowMs and windowMs * (1 + 1/DEDUPE_SLICES) after the last sighting.
    c.advance(1000 + 1000 / DEDUPE_SLICES);
    expect(d.accept("s6", ev({ k: 1 })).emit).toBe(true);
  });

  it("remembers a record for at least the whole window after its last sighting, at most 1.1x", () => {
    for (const offset of [0, 1, 37, 99]) {
      const c = clock(1_000_000 + offset);
      const d = new CrossSessionDeduper({ windowMs: 1000 }, c.now);
      d.accept("s0", ev({ warm: 1 })); // the first slice starts here
      c.advance(offset * 3);
      expect(d.accept("s1", ev({ k: offset })).emit).toBe(true);
      c.advance(999);
      expect(d.accept("s2", ev({ k: offset })).emit).toBe(false);
      c.advance(999);
      expect(d.accept("s3", ev({ k: offset })).emit).toBe(false);
      c.advance(1000 + 1000 / DEDUPE_SLICES);
      d.evictExpired();
      expect(d.size()).toBe(0);
    }
  });

  it("keeps per-session counts exact when a compact record grows into a full one", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 10_000 }, c.now);
    const e = ev({ same: true });
    // s1 and s2 each once (compact), then s2 a second time (full record), then s3 catches up.
    expect(d.accept("s1", e)).toMatchObject({ emit: true, ordinal: 1 });
    expect(d.accept("s2", e)).toMatchObject({ emit: false, ordinal: 1 });
    expect(d.accept("s2", e)).toMatchObject({ emit: true, ordinal: 2 });
    expect(d.accept("s1", e)).toMatchObject({ emit: false, ordinal: 2 });
    expect(d.accept("s3", e)).toMatchObject({ emit: false, ordinal: 1 });
    expect(d.accept("s3", e)).toMatchObject({ emit: false, ordinal: 2 });
    expect(d.accept("s3", e)).toMatchObject({ emit: true, ordinal: 3 });
    // a session seeing content twice before anyone else: the second is distinct too
    const f = ev({ other: true });
    expect(d.accept("s4", f)).toMatchObject({ emit: true, ordinal: 1 });
    expect(d.accept("s4", f)).toMatchObject({ emit: true, ordinal: 2 });
    expect(d.accept("s5", f)).toMatchObject({ emit: false, ordinal: 1 });
    expect(d.size()).toBe(2);
  });

  it("a record seen again moves with its counts to the newest slice", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 1000 }, c.now);
    const e = ev({ moving: 1 });
    expect(d.accept("s1", e).emit).toBe(true);
    expect(d.accept("s1", e).emit).toBe(true); // counts: s1 = 2
    for (let i = 0; i < 5; i++) {
      c.advance(700);
      expect(d.accept("s2", e).emit).toBe(i >= 2); // s2's third and later copies are new
    }
    expect(d.size()).toBe(1);
  });

  it("a clock that steps back keeps using the newest slice", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 1000 }, c.now);
    expect(d.accept("s1", ev({ n: 1 })).emit).toBe(true);
    c.advance(-5_000);
    expect(d.accept("s2", ev({ n: 1 })).emit).toBe(false);
    expect(d.accept("s2", ev({ n: 2 })).emit).toBe(true);
    expect(d.size()).toBe(2);
  });

  it("counts exactly with more sessions than a compact record holds", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 10_000 }, c.now);
    const e = ev({ wide: 1 });
    const sessions = ["s1", "s2", "s3", "s4", "s5", "s6"];
    expect(sessions.map((s) => d.accept(s, e).emit)).toEqual([true, false, false, false, false, false]);
    expect(d.accept("s6", e)).toMatchObject({ emit: true, ordinal: 2 });
    expect(sessions.map((s) => d.accept(s, e).emit)).toEqual([false, false, false, false, false, true]);
    expect(d.size()).toBe(1);
  });

  it("holds memory proportional to rate x window, outside the JS heap, at a sustained rate", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 1_000 }, c.now);
    // 50 events per ms (50k/s) over two sessions for 3 windows.
    for (let t = 0; t < 3_000; t++) {
      for (let k = 0; k < 50; k++) {
        const e = ev({ t, k });
        d.accept("s1", e);
        d.accept("s2", e);
      }
      c.advance(1);
    }
    expect(d.size()).toBeGreaterThanOrEqual(50 * 1_000);
    expect(d.size()).toBeLessThanOrEqual(50 * 1_100);
    // At most half-full tables of 32-byte slots, sized like the previous slice: < 4 x 32 bytes a record.
    expect(d.tableBytes()).toBeLessThan(d.size() * 128);
  });

  it("forgets the number of a session idle for many windows, and still counts it right if it returns", () => {
    const c = clock();
    const d = new CrossSessionDeduper({ windowMs: 100 }, c.now);
    expect(d.accept("old", ev({ a: 1 })).emit).toBe(true);
    c.advance(100 * SESSION_IDLE_WINDOWS + 50);
    expect(d.accept("other", ev({ b: 1 })).emit).toBe(true); // slices roll over, idle numbers forgotten
    expect(d.accept("old", ev({ a: 1 })).emit).toBe(true); // its content expired long ago: new again
    expect(d.accept("old", ev({ b: 1 })).emit).toBe(false);
  });

  it("rejects a nonsensical window", () => {
    expect(() => new CrossSessionDeduper({ windowMs: 0 })).toThrow(RangeError);
  });
});
