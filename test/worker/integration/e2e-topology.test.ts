/**
 * Topology requirements end to end: more topics than one channel may hold (sharded), a standard (non-FIFO)
 * queue, and redundant sessions that rotate one after the other, never together.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SessionFactory } from "../../../worker/source/session.ts";
import { waitFor } from "../../support/wait-for.ts";
import { coverage, type Harness, runTraffic, settle, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface SessionRecord {
  slot: string;
  id: string;
  createdAt: number;
  liveAt?: number;
  closedAt?: number;
}

function recordSessions(timeline: SessionRecord[]) {
  return (inner: SessionFactory): SessionFactory => ({
    create(token, label) {
      const s = inner.create(token, label);
      const rec: SessionRecord = { slot: label, id: s.id, createdAt: Date.now() };
      s.on("live", () => {
        rec.liveAt = Date.now();
      });
      s.on("closed", () => {
        rec.closedAt = Date.now();
      });
      timeline.push(rec);
      return s;
    },
  });
}

/**
 * [new session created, new session live] for every make-before-break replacement in a slot: the time the
 * slot depends on a replacement being built. (The old session then keeps delivering while it drains, so
 * drains may overlap; builds must not.)
 */
function rotationWindows(timeline: SessionRecord[], slot: string): { start: number; end: number }[] {
  const own = timeline.filter((r) => r.slot === slot && r.liveAt !== undefined);
  const windows: { start: number; end: number }[] = [];
  for (let i = 1; i < own.length; i++) {
    const prev = own[i - 1]!;
    const next = own[i]!;
    if (prev.closedAt !== undefined) windows.push({ start: next.createdAt, end: next.liveAt! });
  }
  return windows;
}

describe("topics above one channel's limit (1,000 in Genesys and in the simulator)", () => {
  it("2,001 topics are sharded over 3 channels per session; every event arrives once, also across a rotation", async () => {
    const topics = Array.from({ length: 2_001 }, (_, i) => `v2.users.u${i}.presence`);
    h = await startHarness({ redundancy: 2, topics });
    const harness = h;
    await waitFor(() => harness.worker.stats().liveSessions === 2, 15_000, "both sessions live");
    expect(harness.sim.counters.channelsCreated).toBe(6);
    expect(harness.sim.counters.subscriptionsRejected).toBe(0);
    expect(harness.sim.subscribedTopics()).toHaveLength(2_001);
    for (const t of topics) harness.sim.publish(t);

    // Maintenance on one shard's socket: the whole session (all 3 shards) is replaced make-before-break.
    const oneChannel = harness.sim.openSockets()[0]?.channelId ?? "";
    expect(harness.sim.faults.sendSocketClosing(oneChannel)).toBe(1);
    await waitFor(() => harness.worker.stats().rotations >= 1, 10_000, "the session to rotate");
    expect(harness.sim.counters.channelsCreated).toBe(9);
    for (const t of topics) harness.sim.publish(t);

    await waitFor(() => harness.events().length >= 4_002, 20_000, "all events in the queue");
    await settle(harness);
    const c = coverage(harness);
    expect(c.emitted).toBe(4_002);
    expect(c.missing).toEqual([]);
    expect(c.duplicates).toBe(0);
    expect(harness.gaps()).toEqual([]);
  });
});

describe("standard (non-FIFO) queue", () => {
  it("delivers every event exactly once through token rotations, without FIFO fields", async () => {
    h = await startHarness({ redundancy: 2, fifo: false, sim: { tokenLifetimeSec: 1.2 } });
    expect(h.config.queueUrl.endsWith(".fifo")).toBe(false);
    await runTraffic(h, { rate: 40, ms: 2_000 });
    await settle(h);
    const c = coverage(h);
    expect(c.emitted).toBeGreaterThan(120);
    expect(c.missing).toEqual([]);
    expect(c.duplicates).toBe(0);
    expect(h.worker.stats().rotations).toBeGreaterThanOrEqual(2);
    const q = h.fauxqs.inspectQueue("events");
    expect(q?.attributes.FifoQueue).not.toBe("true");
    expect(q?.messages.ready.every((m) => m.messageGroupId === undefined)).toBe(true);
  });
});

describe("redundant sessions rotate staggered", () => {
  it("with redundancy 2 and tokens expiring every 1.5 s, no two rotation windows ever overlap", async () => {
    const timeline: SessionRecord[] = [];
    h = await startHarness({
      redundancy: 2,
      sim: { tokenLifetimeSec: 1.5 },
      wrapSessions: recordSessions(timeline),
    });
    const harness = h;
    await runTraffic(harness, {
      rate: 20,
      ms: 3_000,
      during: () =>
        waitFor(
          () => rotationWindows(timeline, "s0").length >= 2 && rotationWindows(timeline, "s1").length >= 2,
          8_000,
          "two rotations per slot",
        ),
    });
    await settle(harness);
    const s0 = rotationWindows(timeline, "s0");
    const s1 = rotationWindows(timeline, "s1");
    expect(s0.length).toBeGreaterThanOrEqual(2);
    expect(s1.length).toBeGreaterThanOrEqual(2);
    for (const a of s0) {
      for (const b of s1) {
        const overlap = a.start < b.end && b.start < a.end;
        expect(overlap, `s0 ${JSON.stringify(a)} vs s1 ${JSON.stringify(b)}`).toBe(false);
      }
    }
    // Staggered and make-before-break: coverage never lapsed.
    expect(harness.worker.stats().gaps).toBe(0);
    expect(coverage(harness).missing).toEqual([]);
  });

  it("socket_closing sent to every socket at once: the replacements take turns, nothing is lost", async () => {
    const timeline: SessionRecord[] = [];
    h = await startHarness({
      redundancy: 2,
      sim: { socketClosingGraceMs: 3_000 },
      wrapSessions: recordSessions(timeline),
    });
    const harness = h;
    await runTraffic(harness, {
      rate: 40,
      ms: 1_500,
      during: async () => {
        await new Promise((r) => setTimeout(r, 200)); // sessions older than minSessionLifeMs
        expect(harness.sim.faults.sendSocketClosing("all")).toBe(2);
        await waitFor(() => harness.worker.stats().rotations >= 2, 5_000, "both sessions replaced");
      },
    });
    await settle(harness);
    const [a] = rotationWindows(timeline, "s0");
    const [b] = rotationWindows(timeline, "s1");
    expect(a && b).toBeTruthy();
    expect(a!.start < b!.end && b!.start < a!.end, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(
      false,
    );
    const c = coverage(harness);
    expect(c.missing).toEqual([]);
    expect(c.duplicates).toBe(0);
    expect(harness.worker.stats().gaps).toBe(0);
  });
});
