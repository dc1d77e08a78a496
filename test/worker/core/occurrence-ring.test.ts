import { describe, expect, it } from "vitest";
import { MAX_SESSIONS, OccurrenceRing } from "../../../worker/core/occurrence-ring.ts";

const fp = (n: number) => Uint32Array.of(n, n + 1, n + 2, n + 3);

describe("OccurrenceRing", () => {
  it("keeps every field of the live occurrences across wrap-around, growth and shrinking", () => {
    const ring = new OccurrenceRing();
    const live: number[] = [];
    const expireOldest = () => {
      ring.shift();
      live.shift();
    };
    for (let n = 0; n < 10_000; n++) {
      const seq = ring.push(fp(n), n % 7, n * 10, n % MAX_SESSIONS);
      expect(seq).toBe(n + 1);
      ring.setNext(seq, n % 3 === 0 ? seq + 1 : 0);
      live.push(seq);
      // Expire in bursts so the ring wraps, grows to the peak and later shrinks.
      if (n % 1_500 === 1_499) for (let k = 0; k < 1_400; k++) expireOldest();
      if (n % 4_000 === 3_999) ring.shrinkIfSparse();
    }
    const grown = ring.capacity;
    while (live.length > 10) expireOldest();
    ring.shrinkIfSparse(); // the peak of this period still needs the room
    expect(ring.capacity).toBe(grown);
    ring.shrinkIfSparse();
    expect(ring.capacity).toBeLessThan(grown);
    expect(ring.size).toBe(live.length);
    expect(ring.headSeq).toBe(live[0]);
    for (const seq of live) {
      const n = seq - 1;
      expect(ring.isLive(seq)).toBe(true);
      expect(ring.sameContent(seq, fp(n))).toBe(true);
      expect(ring.sameContent(seq, fp(n + 1))).toBe(false);
      expect(ring.topic(seq)).toBe(n % 7);
      expect(ring.atMs(seq)).toBe(n * 10);
      expect(ring.first(seq)).toBe(n % MAX_SESSIONS);
      expect(ring.seenList(seq)).toEqual([n % MAX_SESSIONS]);
      expect(ring.next(seq)).toBe(n % 3 === 0 ? seq + 1 : 0);
    }
    expect(ring.isLive(live[0]! - 1)).toBe(false);
    expect(ring.isLive(ring.nextSeq)).toBe(false);
  });

  it("holds a set of up to 64 session numbers per occurrence and forgets one session everywhere", () => {
    const ring = new OccurrenceRing();
    const a = ring.push(fp(1), 0, 0, 0);
    const b = ring.push(fp(2), 0, 0, 63);
    for (const s of [5, 31, 32, 63]) ring.markSeen(a, s);
    expect(ring.seenList(a)).toEqual([0, 5, 31, 32, 63]);
    expect(ring.seenBy(b, 63)).toBe(true);
    expect(ring.seenBy(b, 31)).toBe(false);
    ring.forgetSession(63);
    expect(ring.seenList(a)).toEqual([0, 5, 31, 32]);
    expect(ring.seenList(b)).toEqual([]);
  });
});
