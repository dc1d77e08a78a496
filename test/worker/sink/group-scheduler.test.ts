import { describe, expect, it } from "vitest";
import { type BatchLimits, GroupScheduler } from "../../../worker/sink/group-scheduler.ts";

interface Item {
  group: string;
  seq: number;
  bytes: number;
  solo: boolean;
  detour: boolean;
}

const SQS: BatchLimits = { maxEntries: 10, maxBytes: 262_144 };

function scheduler(): GroupScheduler<Item> {
  return new GroupScheduler<Item>({
    group: (e) => e.group,
    bytes: (e) => e.bytes,
    solo: (e) => e.solo,
    detour: (e) => e.detour,
  });
}

let seq = 0;
function item(group: string, extra: Partial<Item> = {}): Item {
  return { group, seq: seq++, bytes: 100, solo: false, detour: false, ...extra };
}

const noDetour = (): void => {
  throw new Error("unexpected detour");
};

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("GroupScheduler", () => {
  it("fills one batch across many quiet groups", () => {
    const s = scheduler();
    for (let g = 0; g < 100; g++) s.add(item(`topic-${g}`));
    const batches: Item[][] = [];
    for (let b = s.takeBatch(SQS, noDetour); b.length > 0; b = s.takeBatch(SQS, noDetour)) batches.push(b);
    expect(batches).toHaveLength(10);
    for (const b of batches) expect(new Set(b.map((e) => e.group)).size).toBe(10);
    expect(s.busyGroups()).toBe(100);
  });

  it("keeps a hot group to one batch in flight, taking its oldest entries first", () => {
    const s = scheduler();
    const hot = Array.from({ length: 25 }, () => item("hot"));
    for (const e of hot) s.add(e);
    const first = s.takeBatch(SQS, noDetour);
    expect(first).toEqual(hot.slice(0, 10));
    expect(s.takeBatch(SQS, noDetour)).toEqual([]);
    for (const e of first) s.remove(e);
    s.release(first);
    expect(s.takeBatch(SQS, noDetour)).toEqual(hot.slice(10, 20));
  });

  it("puts a retried entry back at the head of its group, ahead of everything newer", () => {
    const s = scheduler();
    const [a, b, c] = [item("g"), item("g"), item("g")];
    s.add(a);
    s.add(b);
    const batch = s.takeBatch(SQS, noDetour);
    expect(batch).toEqual([a, b]);
    s.add(c);
    // SQS accepted a, failed b: b must go before c.
    s.remove(a);
    s.release(batch);
    expect(s.takeBatch(SQS, noDetour)).toEqual([b, c]);
  });

  it("respects the byte limit and never splits a group out of order", () => {
    const s = scheduler();
    const big = [item("g", { bytes: 150_000 }), item("g", { bytes: 150_000 }), item("g", { bytes: 10 })];
    for (const e of big) s.add(e);
    s.add(item("h", { bytes: 100_000 }));
    const batch = s.takeBatch(SQS, noDetour);
    // g's second entry does not fit, so g stops there (its third entry must not jump ahead); h fills up.
    expect(batch.map((e) => e.group)).toEqual(["g", "h"]);
    expect(batch[0]).toBe(big[0]);
  });

  it("sends a solo entry alone and hands a detour entry out with its group held", () => {
    const s = scheduler();
    s.add(item("a"));
    const solo = item("b", { solo: true });
    s.add(solo);
    s.add(item("c"));
    // The solo entry is skipped while others fill the batch, then goes out alone.
    expect(s.takeBatch(SQS, noDetour).map((e) => e.group)).toEqual(["a", "c"]);
    expect(s.takeBatch(SQS, noDetour)).toEqual([solo]);
    s.add(item("e"));
    const huge = item("d", { detour: true });
    const after = item("d");
    s.add(huge);
    s.add(after);
    const detours: Item[] = [];
    const batch = s.takeBatch(SQS, (_g, head) => detours.push(head));
    expect(detours).toEqual([huge]);
    expect(batch.map((e) => e.group)).toEqual(["e"]);
    // d is held while its head is on the detour.
    expect(s.takeBatch(SQS, noDetour)).toEqual([]);
    huge.detour = false;
    s.settle(s.group("d")!);
    expect(s.takeBatch(SQS, noDetour)).toEqual([huge, after]);
  });

  it("holds a throttled group back until its time while the other groups keep being batched", () => {
    const s = scheduler();
    const a = [item("a"), item("a")];
    const b = [item("b"), item("b")];
    for (const e of [...a, ...b]) s.add(e);
    const first = s.takeBatch(SQS, noDetour, 0);
    expect(first).toEqual([...a, ...b]);
    // a was throttled (nothing of it accepted); b was accepted.
    for (const e of b) s.remove(e);
    s.release(first, { groups: new Set(["a"]), untilMs: 100 });
    const later = [item("a"), item("b")];
    for (const e of later) s.add(e);
    expect(s.nextWakeMs()).toBe(100);
    expect(s.takeBatch(SQS, noDetour, 99)).toEqual([later[1]]);
    expect(s.takeBatch(SQS, noDetour, 99)).toEqual([]);
    expect(s.takeBatch(SQS, noDetour, 100)).toEqual([...a, later[0]]);
    expect(s.nextWakeMs()).toBeUndefined();
  });

  it("forgets a waiting group's wait once its entries leave (taken idle)", () => {
    const s = scheduler();
    const e = item("a");
    s.add(e);
    const batch = s.takeBatch(SQS, noDetour, 0);
    s.release(batch, { groups: new Set(["a"]), untilMs: 50 });
    expect(s.takeIdle()).toEqual([e]);
    expect(s.nextWakeMs()).toBeUndefined();
    const again = item("a");
    s.add(again);
    expect(s.takeBatch(SQS, noDetour, 0)).toEqual([again]);
  });

  it("stages a busy group's next entries and promotes them once every entry in flight has left", () => {
    const s = scheduler();
    const hot = Array.from({ length: 25 }, () => item("hot"));
    for (const e of hot) s.add(e);
    const first = s.takeBatch(SQS, noDetour);
    expect(first).toEqual(hot.slice(0, 10));
    const staged = s.takeStaged(SQS);
    expect(staged).toEqual(hot.slice(10, 20));
    // One staged batch per group: nothing more to stage, nothing ready.
    expect(s.takeStaged(SQS)).toEqual([]);
    expect(s.takeBatch(SQS, noDetour)).toEqual([]);
    for (const e of first) s.remove(e);
    expect(s.release(first, undefined, () => true)).toEqual({ promoted: ["hot"], cancelled: [] });
    // The promoted batch is in flight: the group stays busy and its remaining entries may be staged next.
    expect(s.busyGroups()).toBe(1);
    expect(s.takeBatch(SQS, noDetour)).toEqual([]);
    expect(s.takeStaged(SQS)).toEqual(hot.slice(20));
    for (const e of staged) s.remove(e);
    expect(s.release(staged, undefined, () => false)).toEqual({ promoted: [], cancelled: ["hot"] });
    expect(s.busyGroups()).toBe(0);
    expect(s.takeBatch(SQS, noDetour)).toEqual(hot.slice(20));
  });

  it("cancels a staged batch when an entry before it is to be retried, its group must wait, or promotion is refused", () => {
    const s = scheduler();
    const g = Array.from({ length: 4 }, () => item("g"));
    for (const e of g) s.add(e);
    // g[1] fails: the staged g[2..3] must not overtake it.
    let batch = s.takeBatch({ ...SQS, maxEntries: 2 }, noDetour, 0);
    expect(batch).toEqual(g.slice(0, 2));
    expect(s.takeStaged(SQS)).toEqual(g.slice(2));
    s.remove(g[0]!);
    expect(s.release(batch, undefined, () => true)).toEqual({ promoted: [], cancelled: ["g"] });
    batch = s.takeBatch(SQS, noDetour, 0);
    expect(batch).toEqual(g.slice(1));
    // Throttled (nothing accepted): the group waits, its staged batch is dropped.
    s.add(item("g"));
    expect(s.takeStaged(SQS)).toHaveLength(1);
    expect(s.release(batch, { groups: new Set(["g"]), untilMs: 10 }, () => true)).toEqual({
      promoted: [],
      cancelled: ["g"],
    });
    expect(s.takeBatch(SQS, noDetour, 9)).toEqual([]);
    batch = s.takeBatch(SQS, noDetour, 10);
    expect(batch).toHaveLength(4);
    // All delivered, but the sink may not send now (paused, closing): dropped, the group is ready again.
    s.add(item("g"));
    const staged = s.takeStaged(SQS);
    for (const e of batch) s.remove(e);
    expect(s.release(batch, undefined, () => false)).toEqual({ promoted: [], cancelled: ["g"] });
    expect(s.takeBatch(SQS, noDetour, 10)).toEqual(staged);
  });

  it("never reorders a group and never has a group in two batches on the wire: random load, failures, retries, staged batches", () => {
    for (const seed of [1, 7, 42, 1_234, 99_999]) {
      const random = lcg(seed);
      const s = scheduler();
      const submitted = new Map<string, number[]>();
      const accepted = new Map<string, number[]>();
      const inFlight: Item[][] = [];
      const staged = new Map<string, Item[]>();
      const groupsInFlight = new Set<string>();
      const waitUntil = new Map<string, number>();
      let pending = 0;
      const groups = ["hot", ...Array.from({ length: 30 }, (_, i) => `t${i}`)];
      for (let step = 0; step < 5_000 || pending > 0; step++) {
        if (step < 5_000 && random() < 0.6) {
          const g = random() < 0.3 ? "hot" : groups[1 + Math.floor(random() * 30)]!;
          const e = item(g, { bytes: 1 + Math.floor(random() * 60_000) });
          s.add(e);
          pending++;
          submitted.set(g, [...(submitted.get(g) ?? []), e.seq]);
        }
        while (inFlight.length < 8) {
          const batch = s.takeBatch(SQS, noDetour, step);
          if (batch.length === 0) break;
          for (const g of new Set(batch.map((e) => e.group))) {
            expect(groupsInFlight.has(g)).toBe(false);
            expect(step).toBeGreaterThanOrEqual(waitUntil.get(g) ?? 0);
            groupsInFlight.add(g);
          }
          expect(batch.length).toBeLessThanOrEqual(10);
          expect(batch.reduce((n, e) => n + e.bytes, 0)).toBeLessThanOrEqual(SQS.maxBytes);
          inFlight.push(batch);
        }
        // Spare window: stage the next batch of groups in flight (one group each, at most one per group).
        while (inFlight.length + staged.size < 8) {
          const next = s.takeStaged(SQS);
          if (next.length === 0) break;
          const g = next[0]!.group;
          expect(next.every((e) => e.group === g)).toBe(true);
          expect(groupsInFlight.has(g)).toBe(true);
          expect(staged.has(g)).toBe(false);
          staged.set(g, next);
        }
        if (inFlight.length > 0 && random() < 0.5) {
          const batch = inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!;
          // SQS FIFO enqueues a batch's entries in order; a throttled group fails from some entry on.
          const failedFrom = new Map<string, number>();
          batch.forEach((e, i) => {
            if (!failedFrom.has(e.group) && random() < 0.15) failedFrom.set(e.group, i);
          });
          batch.forEach((e, i) => {
            if (i >= (failedFrom.get(e.group) ?? Number.POSITIVE_INFINITY)) return;
            s.remove(e);
            pending--;
            accepted.set(e.group, [...(accepted.get(e.group) ?? []), e.seq]);
          });
          for (const g of new Set(batch.map((e) => e.group))) groupsInFlight.delete(g);
          // Half of the failures are throttles: those groups wait a few steps.
          const throttled = new Set([...failedFrom.keys()].filter(() => random() < 0.5));
          const untilMs = step + 1 + Math.floor(random() * 20);
          for (const g of throttled) waitUntil.set(g, untilMs);
          const verdicts = s.release(batch, { groups: throttled, untilMs }, () => random() < 0.8);
          for (const g of verdicts.cancelled) {
            expect(staged.delete(g)).toBe(true);
          }
          for (const g of verdicts.promoted) {
            expect(groupsInFlight.has(g)).toBe(false);
            groupsInFlight.add(g);
            inFlight.push(staged.get(g)!);
            staged.delete(g);
          }
          // A group whose batch is over has nothing staged any more.
          for (const g of new Set(batch.map((e) => e.group))) {
            if (!groupsInFlight.has(g)) expect(staged.has(g)).toBe(false);
          }
        }
      }
      expect(accepted).toEqual(submitted);
      expect(staged.size).toBe(0);
      expect(s.busyGroups()).toBe(0);
    }
  });
});
