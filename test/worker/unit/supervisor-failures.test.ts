/**
 * The supervisor against every kind of server behaviour the policy table knows, under fake timers: no
 * behaviour makes it spin (attempts per slot stay within the backoff's budget), permanent failures stop only
 * their own slot and raise an alarm, and a session that ends as planned is replaced at once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SessionFailure } from "../../../worker/core/close-policy.ts";
import { Supervisor } from "../../../worker/supervisor/supervisor.ts";
import {
  CountingTokens,
  MemorySink,
  recordingLog,
  type Script,
  ScriptedFactory,
} from "./scripted-sessions.ts";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

const BACKOFF = { baseMs: 500, capMs: 30_000 };

/** How long a replaced session keeps delivering after its replacement is live. */
const DRAIN_MS = 3_000;

function run(script: (n: number) => Script, random: () => number, redundancy = 2) {
  const sessions = new ScriptedFactory(script);
  const tokens = new CountingTokens();
  const log = recordingLog();
  const counts = new Map<string, number>();
  const supervisor = new Supervisor(
    { redundancy, topics: ["t.a"], minSessionLifeMs: 1_000, backoff: BACKOFF, drainMs: DRAIN_MS },
    {
      tokenSource: tokens,
      sessions,
      sink: new MemorySink(),
      log,
      random,
      metrics: {
        count: (name, n = 1) => void counts.set(name, (counts.get(name) ?? 0) + n),
        gauge: () => {},
      },
    },
  );
  supervisor.start();
  return { supervisor, sessions, tokens, log, counts };
}

const beforeLive: [string, SessionFailure][] = [
  ["upgrade 500", { kind: "upgrade-rejected", status: 500 }],
  ["upgrade 404", { kind: "upgrade-rejected", status: 404 }],
  ["upgrade 401 (token refused)", { kind: "upgrade-rejected", status: 401 }],
  ["REST 503", { kind: "rest-error", status: 503 }],
  ["REST 429 Retry-After 0", { kind: "rest-error", status: 429, retryAfterSec: 0 }],
  ["REST 400", { kind: "rest-error", status: 400 }],
  ["REST 401", { kind: "rest-error", status: 401 }],
  ["network error", { kind: "network", message: "ECONNREFUSED" }],
  ["handshake never completes (watchdog)", { kind: "watchdog" }],
  ["socket_closing before subscribed", { kind: "socket-closing" }],
  ["404 frame before subscribed", { kind: "channel-dead" }],
];

const rightAfterLive: [string, SessionFailure][] = [
  ["close 1000", { kind: "close", code: 1000 }],
  ["close 1001", { kind: "close", code: 1001 }],
  ["close 1006", { kind: "close", code: 1006 }],
  ["close 1011", { kind: "close", code: 1011 }],
  ["close 4001", { kind: "close", code: 4001 }],
  ["close 1008", { kind: "close", code: 1008 }],
  ["close 4999 (unknown)", { kind: "close", code: 4999 }],
  ["watchdog", { kind: "watchdog" }],
  ["socket_closing", { kind: "socket-closing" }],
  ["404 frame", { kind: "channel-dead" }],
];

describe("no tight loop under any server behaviour", () => {
  const cases = [
    ...beforeLive.map(([name, failure]) => [`${name}, before live`, { failure }] as const),
    ...rightAfterLive.map(
      ([name, failure]) => [`${name}, the moment it is live`, { liveAfterMs: 0, failure }] as const,
    ),
  ];

  it.each(cases)("%s: attempts per slot stay within the backoff budget", async (_name, script) => {
    // Typical jitter: exponential growth to the cap, about 9 attempts per minute per slot.
    const typical = run(
      () => script,
      () => 0.5,
    );
    await vi.advanceTimersByTimeAsync(60_000);
    for (const slot of ["s0", "s1"]) expect(typical.sessions.bySlot(slot).length).toBeLessThanOrEqual(12);
    typical.supervisor.stop();

    // Worst-case jitter (always 0): the floor (100 ms) still holds, never a 0 ms loop.
    const worst = run(
      () => script,
      () => 0,
    );
    await vi.advanceTimersByTimeAsync(10_000);
    for (const slot of ["s0", "s1"]) {
      const created = worst.sessions.bySlot(slot);
      expect(created.length).toBeGreaterThan(3); // it keeps trying: not stopped, not stuck
      expect(created.length).toBeLessThanOrEqual(10_000 / 100 + 2);
      for (let i = 1; i < created.length; i++) {
        expect(created[i]!.startedAtMs - created[i - 1]!.startedAtMs).toBeGreaterThanOrEqual(100);
      }
    }
    worst.supervisor.stop();
  });

  it("a token source that always fails transiently is retried with backoff", async () => {
    const sessions = new ScriptedFactory(() => ({ liveAfterMs: 0 }));
    let calls = 0;
    const supervisor = new Supervisor(
      { redundancy: 2, topics: ["t.a"], backoff: BACKOFF },
      {
        tokenSource: {
          current: async () => {
            calls++;
            throw new Error("broker down");
          },
          refresh: async () => {
            calls++;
            throw new Error("broker down");
          },
        },
        sessions,
        sink: new MemorySink(),
        log: recordingLog(),
        random: () => 0.5,
      },
    );
    supervisor.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBeGreaterThan(4);
    expect(calls).toBeLessThanOrEqual(24);
    expect(sessions.created).toEqual([]);
    supervisor.stop();
  });

  it("abandoned candidates are closed, never left holding a channel", async () => {
    // socket_closing arrives on every candidate before it is subscribed; the session itself keeps running.
    const hostile = run(
      () => ({ failure: { kind: "socket-closing" }, failAfterMs: 10 }),
      () => 0.5,
    );
    await vi.advanceTimersByTimeAsync(10_000);
    const created = hostile.sessions.created;
    expect(created.length).toBeGreaterThan(2);
    // Every candidate but each slot's newest has been closed by the worker.
    const open = created.filter((s) => s.closedAtMs === undefined);
    expect(open.length).toBeLessThanOrEqual(2);
    hostile.supervisor.stop();
  });
});

describe("permanent failures", () => {
  it.each([
    ["REST 403 on subscriptions", { kind: "rest-error", status: 403 } as SessionFailure],
    ["upgrade 403", { kind: "upgrade-rejected", status: 403 } as SessionFailure],
    ["identity provider invalid_client", { kind: "idp-permanent" } as SessionFailure],
  ])("%s stops only that slot, once, with an alarm; the other keeps running", async (_name, failure) => {
    // The first session built fails permanently; every other one is healthy.
    const r = run(
      (n) => (n === 0 ? { failure } : { liveAfterMs: 5 }),
      () => 0.5,
    );
    await vi.advanceTimersByTimeAsync(30_000);
    const stopped = r.sessions.created[0]!.id.split("#")[0]!;
    const other = stopped === "s0" ? "s1" : "s0";
    expect(r.sessions.bySlot(stopped)).toHaveLength(1); // never retried
    expect(r.sessions.bySlot(other).length).toBeGreaterThanOrEqual(1);
    expect(r.supervisor.liveSessions()).toBe(1);
    expect(r.supervisor.stats()).toMatchObject({ stoppedSlots: 1, liveSessions: 1 });
    const alarms = r.log.lines.filter((l) => l.level === "error" && l.extra?.code === "session_stopped");
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.extra).toMatchObject({ alarm: true, slot: stopped });
    expect(r.counts.get("SessionsStopped")).toBe(1);
    r.supervisor.stop();
  });

  it("a permanent token-source error stops the slot without retrying", async () => {
    const sessions = new ScriptedFactory(() => ({ liveAfterMs: 0 }));
    let calls = 0;
    const { TokenSourceError } = await import("../../../worker/token/token-source.ts");
    const log = recordingLog();
    const supervisor = new Supervisor(
      { redundancy: 2, topics: ["t.a"], backoff: BACKOFF },
      {
        tokenSource: {
          current: async () => {
            calls++;
            throw new TokenSourceError("idp_invalid_client", "refused", true, 401);
          },
          refresh: async () => {
            throw new Error("not expected");
          },
        },
        sessions,
        sink: new MemorySink(),
        log,
      },
    );
    supervisor.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(2);
    expect(supervisor.stats().stoppedSlots).toBe(2);
    expect(log.lines.filter((l) => l.extra?.code === "session_stopped")).toHaveLength(2);
    supervisor.stop();
  });
});

describe("planned endings are replaced at once", () => {
  it("socket_closing on a session that has been live for a while starts its replacement immediately", async () => {
    const r = run(
      (n) =>
        n < 2
          ? { liveAfterMs: 0, failure: { kind: "socket-closing" }, failAfterMs: 5_000 }
          : { liveAfterMs: 20 },
      () => 0.5,
    );
    await vi.advanceTimersByTimeAsync(5_000);
    await vi.advanceTimersByTimeAsync(25);
    const s0 = r.sessions.bySlot("s0");
    expect(s0).toHaveLength(2);
    expect(s0[1]!.startedAtMs - (s0[0]!.liveAtMs ?? 0)).toBe(5_000);
    expect(s0[0]!.closedAtMs).toBeUndefined(); // make-before-break, and the old one drains
    await vi.advanceTimersByTimeAsync(DRAIN_MS);
    expect(s0[0]!.closedAtMs).toBe(s0[1]!.liveAtMs! + DRAIN_MS);
    expect(r.supervisor.stats().gaps).toBe(0);
    r.supervisor.stop();
  });
});

describe("socket_closing to every session at once (maintenance)", () => {
  it("the replacements take turns: the second starts once the first is live", async () => {
    const r = run(
      (n) =>
        n < 2
          ? { liveAfterMs: 0, failure: { kind: "socket-closing" }, failAfterMs: 5_000 }
          : { liveAfterMs: 200 },
      () => 0.5,
    );
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(6_000);
    const [a, b] = [r.sessions.created[2]!, r.sessions.created[3]!];
    expect(a.startedAtMs - t0).toBe(5_000);
    expect(b.startedAtMs).toBeGreaterThanOrEqual(a.liveAtMs!);
    // The replaced sessions are still delivering (draining) next to their replacements.
    expect(r.supervisor.stats()).toMatchObject({ rotations: 2, gaps: 0, liveSessions: 4 });
    await vi.advanceTimersByTimeAsync(DRAIN_MS);
    expect(r.supervisor.stats()).toMatchObject({ rotations: 2, gaps: 0, liveSessions: 2 });
    r.supervisor.stop();
  });

  it("but never waits past maxTurnWaitMs for a turn that does not come", async () => {
    // The first replacement hangs (never live, never fails): the other slot goes after the bound anyway.
    const r = run(
      (n) =>
        n < 2
          ? { liveAfterMs: 0, failure: { kind: "socket-closing" }, failAfterMs: 5_000 }
          : n === 2
            ? {}
            : { liveAfterMs: 10 },
      () => 0.5,
    );
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(16_000);
    const second = r.sessions.created[3]!;
    expect(second.startedAtMs - t0).toBeGreaterThanOrEqual(15_000);
    expect(second.startedAtMs - t0).toBeLessThanOrEqual(15_050);
    expect(second.liveAtMs).toBeDefined();
    r.supervisor.stop();
  });
});
