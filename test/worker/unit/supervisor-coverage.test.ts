/**
 * The supervisor's zero-loss behaviours, on scripted sessions and fake timers: the replaced session drains,
 * a session that misses what its peer delivers is replaced, staggered silence is a recorded gap.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type {
  NotificationEnvelope,
  QueuedEventMessage,
  QueuedGapMessage,
} from "../../../shared/contracts.ts";
import { Supervisor, type SupervisorOptions } from "../../../worker/supervisor/supervisor.ts";
import {
  CountingTokens,
  MemorySink,
  recordingLog,
  type Script,
  ScriptedFactory,
} from "./scripted-sessions.ts";

const LAG = 1_000;
const PROP = 500;
const DRAIN = 3_000;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2026-12-04T10:00:00Z"));
});
afterEach(() => vi.useRealTimers());

function run(script: (n: number) => Script, redundancy: number, extra: Partial<SupervisorOptions> = {}) {
  const sessions = new ScriptedFactory(script);
  const sink = new MemorySink();
  const log = recordingLog();
  const counts = new Map<string, number>();
  const supervisor = new Supervisor(
    {
      redundancy,
      topics: ["t.a"],
      minSessionLifeMs: 1_000,
      backoff: { baseMs: 10, capMs: 20 },
      lagBoundMs: LAG,
      propagationMs: PROP,
      drainMs: DRAIN,
      instanceId: "test",
      ...extra,
    },
    {
      tokenSource: new CountingTokens(),
      sessions,
      sink,
      log,
      random: () => 0.5,
      metrics: {
        count: (name, n = 1) => void counts.set(name, (counts.get(name) ?? 0) + n),
        gauge: () => {},
      },
    },
  );
  supervisor.start();
  const events = () => sink.messages.filter((m): m is QueuedEventMessage => m.kind === "event");
  const gaps = () => sink.messages.filter((m): m is QueuedGapMessage => m.kind === "gap");
  return { supervisor, sessions, sink, log, counts, events, gaps };
}

const ev = (n: number, body: unknown = { n }): NotificationEnvelope => ({
  topicName: "t.a",
  eventBody: body,
});

describe("make-before-break drains", () => {
  it("the replaced session keeps delivering for the drain period, through de-dup, then closes", async () => {
    const r = run(
      (n) =>
        n === 0
          ? { liveAfterMs: 0, failure: { kind: "socket-closing" }, failAfterMs: 5_000 }
          : { liveAfterMs: 20 },
      1,
    );
    await vi.advanceTimersByTimeAsync(5_100);
    const [old, fresh] = r.sessions.created;
    expect(fresh!.isLive).toBe(true);
    // The new channel's subscription has not taken effect yet: only the old one gets event 1.
    old!.deliver(ev(1));
    await vi.advanceTimersByTimeAsync(600);
    old!.deliver(ev(2));
    fresh!.deliver(ev(2));
    await vi.advanceTimersByTimeAsync(DRAIN);
    expect(old!.ended).toBe(true);
    expect(old!.closedAtMs).toBe(fresh!.liveAtMs! + DRAIN);
    expect(r.events().map((m) => m.event.eventBody)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(r.gaps()).toEqual([]);
    r.supervisor.stop();
  });

  it("identical distinct events around a rotation (redundancy 1) each reach the sink once", async () => {
    const r = run(
      (n) =>
        n === 0
          ? { liveAfterMs: 0, failure: { kind: "socket-closing" }, failAfterMs: 5_000 }
          : { liveAfterMs: 20 },
      1,
    );
    await vi.advanceTimersByTimeAsync(5_000);
    const [old] = r.sessions.created;
    old!.deliver(ev(0, "same")); // before the new session exists
    await vi.advanceTimersByTimeAsync(100);
    const fresh = r.sessions.created[1]!;
    expect(fresh.isLive).toBe(true);
    fresh.deliver(ev(0, "same")); // the second identical event, first on the new channel
    await vi.advanceTimersByTimeAsync(200);
    old!.deliver(ev(0, "same"));
    for (let i = 0; i < 8; i++) {
      await vi.advanceTimersByTimeAsync(LAG / 2);
      old!.deliver(ev(i));
      fresh.deliver(ev(i));
    }
    await vi.advanceTimersByTimeAsync(DRAIN + 2 * LAG);
    const same = r.events().filter((m) => m.event.eventBody === "same");
    expect(same).toHaveLength(2);
    expect(same.every((m) => !m.possibleDuplicate)).toBe(true);
    expect(new Set(same.map((m) => m.key)).size).toBe(2);
    expect(r.events()).toHaveLength(10);
    r.supervisor.stop();
  });
});

describe("silent sessions", () => {
  it("a session that misses what its peer delivers is replaced; its peer covered, so no gap", async () => {
    const r = run(() => ({ liveAfterMs: 0 }), 2);
    await vi.advanceTimersByTimeAsync(LAG + PROP + 100);
    const [a, b] = r.sessions.created;
    for (let i = 0; i < 4; i++) {
      a!.deliver(ev(i)); // b's token was revoked: heartbeats go on, events stop
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(LAG + LAG / 2);
    expect(r.counts.get("SilentSessions")).toBe(1);
    expect(
      r.log.lines.some((l) => l.message.startsWith("session silent") && l.extra?.session === b!.id),
    ).toBe(true);
    // Replaced make-before-break: its successor is live, and b is closed after the drain.
    const successor = r.sessions.bySlot("s1")[1]!;
    expect(successor.isLive).toBe(true);
    await vi.advanceTimersByTimeAsync(DRAIN);
    expect(b!.ended).toBe(true);
    expect(r.gaps()).toEqual([]);
    expect(r.events()).toHaveLength(4);
    r.supervisor.stop();
  });

  it("staggered half-open sockets: the gap runs from the last frame to the replacement, though one was always 'live'", async () => {
    const r = run(
      (n) =>
        n < 2
          ? {
              liveAfterMs: 0,
              framesStopAfterMs: n === 0 ? 10_000 : 12_500,
              failure: { kind: "watchdog" },
              failAfterMs: n === 0 ? 65_000 : 67_500,
            }
          : { liveAfterMs: 20 },
      2,
    );
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(70_000);
    const gaps = r.gaps();
    expect(gaps).toHaveLength(1);
    expect(Date.parse(gaps[0]!.start) - t0).toBe(12_500);
    const firstReplacement = r.sessions.created[2]!;
    expect(Date.parse(gaps[0]!.end)).toBe(firstReplacement.liveAtMs);
    expect(r.supervisor.stats().liveSessions).toBe(2);
    r.supervisor.stop();
  });
});

describe("sessions that end unasked", () => {
  it("covered only up to their last frame: a channel killed (evicted) before its 404 arrives is a gap from its last frame", async () => {
    const r = run(
      (n) =>
        n < 2
          ? {
              liveAfterMs: 0,
              framesStopAfterMs: n === 0 ? 4_000 : 4_100, // both channels evicted; frames stop first
              failure: { kind: "channel-dead" },
              failAfterMs: n === 0 ? 4_300 : 4_400,
            }
          : { liveAfterMs: 50 },
      2,
    );
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(6_000);
    const gaps = r.gaps();
    expect(gaps).toHaveLength(1);
    // From the later of the two last frames, not from when the worker learned the channels were dead.
    expect(Date.parse(gaps[0]!.start) - t0).toBe(4_100);
    r.supervisor.stop();
  });

  it("an abrupt close (1006) ends coverage at the last frame too", async () => {
    const r = run(
      (n) =>
        n === 0
          ? {
              liveAfterMs: 0,
              framesStopAfterMs: 2_000,
              failure: { kind: "close", code: 1006 },
              failAfterMs: 2_500,
            }
          : { liveAfterMs: 100 },
      1,
    );
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(5_000);
    const gaps = r.gaps();
    expect(gaps).toHaveLength(1);
    expect(Date.parse(gaps[0]!.start) - t0).toBe(2_000);
    r.supervisor.stop();
  });
});

describe("upstream errors", () => {
  it("waits exactly the Retry-After of a 429 (no longer, no shorter) and logs Genesys' code and message", async () => {
    const r = run(
      (n) =>
        n === 0
          ? {
              failure: {
                kind: "rest-error",
                status: 429,
                retryAfterSec: 2,
                upstreamCode: "too.many.requests.retry.after",
                upstreamMessage: "Rate limit exceeded the maximum. Retry the request in [2] seconds",
              },
              failAfterMs: 10,
            }
          : { liveAfterMs: 10 },
      1,
    );
    await vi.advanceTimersByTimeAsync(3_000);
    const [first, second] = r.sessions.created;
    expect(second!.startedAtMs - (first!.closedAtMs ?? 0)).toBe(2_000);
    const line = r.log.lines.find((l) => l.message === "session failure");
    expect(line?.extra).toMatchObject({
      upstreamCode: "too.many.requests.retry.after",
      upstreamMessage: expect.stringContaining("Retry the request"),
      retryAfterMs: 2_000,
    });
    r.supervisor.stop();
  });
});

describe("refused topics", () => {
  it("a topic refused by every live session is a gap message for that topic until a session subscribes it", async () => {
    const t0 = Date.now();
    const r = run(
      (n) =>
        n === 0
          ? { liveAfterMs: 0, refused: ["t.b"], failure: { kind: "socket-closing" }, failAfterMs: 5_000 }
          : { liveAfterMs: 20 },
      1,
      { topics: ["t.a", "t.b"] },
    );
    await vi.advanceTimersByTimeAsync(5_100);
    expect(r.sessions.created[1]!.isLive).toBe(true);
    expect(r.counts.get("TopicsRefused")).toBe(1);
    const gaps = r.gaps();
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.topics).toEqual(["t.b"]);
    expect(gaps[0]!.start).toBe(new Date(t0).toISOString());
    expect(gaps[0]!.end).toBe(new Date(t0 + 5_020).toISOString());
    r.supervisor.stop();
  });

  it("at handover the replaced session's subscriptions are checked: one dropped silently is a gap back to the last check", async () => {
    const t0 = Date.now();
    const r = run(
      (n) =>
        n === 0
          ? {
              liveAfterMs: 0,
              vanish: { topics: ["t.b"], afterMs: 2_000 },
              failure: { kind: "socket-closing" },
              failAfterMs: 5_000,
            }
          : { liveAfterMs: 20 },
      1,
      { topics: ["t.a", "t.b"] },
    );
    await vi.advanceTimersByTimeAsync(5_100);
    const [old, replacement] = r.sessions.created;
    expect(replacement!.isLive).toBe(true);
    expect(old!.confirmations).toBe(1);
    expect(r.counts.get("TopicsRefused")).toBe(1);
    const gaps = r.gaps();
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.topics).toEqual(["t.b"]);
    // From its subscribe (its only confirmation) until its replacement, which subscribed t.b, went live.
    expect(gaps[0]!.start).toBe(new Date(t0).toISOString());
    expect(gaps[0]!.end).toBe(new Date(t0 + 5_020).toISOString());
    r.supervisor.stop();
  });

  it("a topic refused by one slot while the other already covers it is no gap", async () => {
    const r = run((n) => (n === 0 ? { liveAfterMs: 10, refused: ["t.b"] } : { liveAfterMs: 0 }), 2, {
      topics: ["t.a", "t.b"],
    });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(r.counts.get("TopicsRefused")).toBe(1);
    r.supervisor.stop();
    expect(r.gaps()).toEqual([]);
  });
});
