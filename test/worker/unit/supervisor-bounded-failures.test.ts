/**
 * Failures that must neither loop nor stop a slot too early, under fake timers: consecutive 400s on a slot
 * (bounded, then a permanent stop whose record carries Genesys' reason), transient broker 403/404 (retried
 * with an alarm each time, bounded), Retry-After on the token source waited out exactly, and channels
 * evicted again and again at the per-client quota (back off instead of evicting back).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SessionFailure } from "../../../worker/core/close-policy.ts";
import { Supervisor, type SupervisorOptions } from "../../../worker/supervisor/supervisor.ts";
import { type TokenSource, TokenSourceError } from "../../../worker/token/token-source.ts";
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
const CHANNEL_LIMIT_400: SessionFailure = {
  kind: "rest-error",
  status: 400,
  upstreamCode: "notification.channel.limit",
  upstreamMessage: "The maximum number of notification channels has been reached",
};

function run(
  script: (n: number, label: string) => Script,
  o: { tokens?: TokenSource; options?: Partial<SupervisorOptions>; random?: () => number } = {},
) {
  const sessions = new ScriptedFactory(script);
  const log = recordingLog();
  const counts = new Map<string, number>();
  const supervisor = new Supervisor(
    { redundancy: 2, topics: ["t.a"], minSessionLifeMs: 1_000, backoff: BACKOFF, drainMs: 0, ...o.options },
    {
      tokenSource: o.tokens ?? new CountingTokens(),
      sessions,
      sink: new MemorySink(),
      log,
      random: o.random ?? (() => 0.5),
      metrics: {
        count: (name, n = 1) => void counts.set(name, (counts.get(name) ?? 0) + n),
        gauge: () => {},
      },
    },
  );
  supervisor.start();
  return { supervisor, sessions, log, counts };
}

const withCode = (lines: ReturnType<typeof recordingLog>["lines"], code: string) =>
  lines.filter((l) => l.extra?.code === code);

describe("400 on channel create or subscribe never loops", () => {
  it("stops the slot after 5 consecutive 400s, with backoff between them and Genesys' reason in the record", async () => {
    // Slot s0's subscribe always answers 400; s1 is healthy.
    const r = run((_n, label) =>
      label === "s0" ? { failure: CHANNEL_LIMIT_400, failAfterMs: 5 } : { liveAfterMs: 5 },
    );
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    const s0 = r.sessions.bySlot("s0");
    expect(s0).toHaveLength(5);
    for (let i = 1; i < s0.length; i++) {
      // Full jitter (random 0.5): half the exponential ceiling, so 250, 500, 1000, 2000 ms after each failure.
      expect(s0[i]!.startedAtMs - s0[i - 1]!.closedAtMs!).toBe(250 * 2 ** (i - 1));
    }
    expect(r.supervisor.stats()).toMatchObject({ stoppedSlots: 1, liveSessions: 1 });
    expect(r.counts.get("SessionsStopped")).toBe(1);
    const [stopped, ...more] = withCode(r.log.lines, "session_stopped");
    expect(more).toEqual([]);
    expect(stopped).toMatchObject({ level: "error" });
    expect(stopped!.extra).toMatchObject({
      alarm: true,
      slot: "s0",
      detail: 400,
      upstreamCode: "notification.channel.limit",
      upstreamMessage: "The maximum number of notification channels has been reached",
      reason:
        "rest_bad_request_400_x5 (notification.channel.limit: The maximum number of notification channels has been reached)",
    });
    // Each failure line says how far along the streak is.
    const failures = r.log.lines.filter((l) => l.message === "session failure" && l.extra?.slot === "s0");
    expect(failures.map((l) => l.extra?.consecutive)).toEqual([1, 2, 3, 4, 5]);
    expect(failures.every((l) => l.extra?.upstreamCode === "notification.channel.limit")).toBe(true);
    expect(r.sessions.bySlot("s1")[0]!.liveAtMs).toBeDefined();
    r.supervisor.stop();
  });

  it("the bound is configurable", async () => {
    const r = run(() => ({ failure: CHANNEL_LIMIT_400 }), {
      options: { redundancy: 1, failures: { maxConsecutiveBadRequests: 2 } },
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.sessions.created).toHaveLength(2);
    expect(r.supervisor.stats().stoppedSlots).toBe(1);
    r.supervisor.stop();
  });

  it("other failures in between do not reset the count; a session going live does", async () => {
    // 400, 503, 400, 400, 400 -> 4 in a row (not stopped); live; then 4 more 400s; live again.
    const plan: Script[] = [
      { failure: CHANNEL_LIMIT_400 },
      { failure: { kind: "rest-error", status: 503 } },
      { failure: CHANNEL_LIMIT_400 },
      { failure: CHANNEL_LIMIT_400 },
      { failure: CHANNEL_LIMIT_400 },
      { liveAfterMs: 0, failure: { kind: "close", code: 1006 }, failAfterMs: 5_000 },
      { failure: CHANNEL_LIMIT_400 },
      { failure: CHANNEL_LIMIT_400 },
      { failure: CHANNEL_LIMIT_400 },
      { failure: CHANNEL_LIMIT_400 },
      { liveAfterMs: 0 },
    ];
    const r = run((n) => plan[n] ?? { liveAfterMs: 0 }, { options: { redundancy: 1 } });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(r.sessions.created).toHaveLength(plan.length);
    expect(r.supervisor.stats()).toMatchObject({ stoppedSlots: 0, liveSessions: 1 });
    const counted = r.log.lines
      .filter((l) => l.message === "session failure" && l.extra?.detail === 400)
      .map((l) => l.extra?.consecutive);
    expect(counted).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    r.supervisor.stop();
  });
});

/** A token source whose lane 0 answers with `lane0()` (throw to fail); other lanes succeed. */
function laneTokens(lane0: () => void): TokenSource & { lane0Calls: number[] } {
  const inner = new CountingTokens();
  const calls: number[] = [];
  return {
    lane0Calls: calls,
    async current(lane = 0) {
      if (lane === 0) {
        calls.push(Date.now());
        lane0();
      }
      return inner.current();
    },
    async refresh(fp, lane = 0) {
      if (lane === 0) {
        calls.push(Date.now());
        lane0();
      }
      return inner.refresh(fp);
    },
  };
}

const refused = (status: 403 | 404) =>
  new TokenSourceError(`http_${status}`, `broker answered HTTP ${status}`, false, status);

describe("transient broker 403/404", () => {
  it("are retried with backoff and an alarm each time; the slot goes live once the broker answers again", async () => {
    let failures = 3;
    const tokens = laneTokens(() => {
      failures--;
      if (failures >= 0) throw refused(failures % 2 === 0 ? 404 : 403);
    });
    const r = run(() => ({ liveAfterMs: 5 }), { tokens });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(tokens.lane0Calls).toHaveLength(4);
    expect(r.supervisor.stats()).toMatchObject({ stoppedSlots: 0, liveSessions: 2 });
    const alarms = withCode(r.log.lines, "token_refused");
    expect(alarms.map((l) => l.extra?.consecutive)).toEqual([1, 2, 3]);
    expect(
      alarms.every((l) => l.level === "error" && l.extra?.alarm === true && l.extra?.slot === "s0"),
    ).toBe(true);
    expect(alarms.map((l) => l.extra?.status)).toEqual([404, 403, 404]);
    expect(r.counts.get("TokenRefusals")).toBe(3);
    expect(r.counts.get("SessionsStopped")).toBeUndefined();
    r.supervisor.stop();
  });

  it("stop the slot only after 5 in a row (configurable); the other slot keeps running", async () => {
    const tokens = laneTokens(() => {
      throw refused(403);
    });
    const r = run(() => ({ liveAfterMs: 5 }), { tokens });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(tokens.lane0Calls).toHaveLength(5);
    // Backed off between attempts (never a tight loop).
    for (let i = 1; i < 5; i++)
      expect(tokens.lane0Calls[i]! - tokens.lane0Calls[i - 1]!).toBeGreaterThanOrEqual(250);
    expect(r.supervisor.stats()).toMatchObject({ stoppedSlots: 1, liveSessions: 1 });
    const [stopped] = withCode(r.log.lines, "session_stopped");
    expect(stopped!.extra).toMatchObject({ slot: "s0", tokenError: "http_403", status: 403, consecutive: 5 });
    expect(withCode(r.log.lines, "token_refused")).toHaveLength(4);

    const three = laneTokens(() => {
      throw refused(404);
    });
    const r3 = run(() => ({ liveAfterMs: 5 }), {
      tokens: three,
      options: { failures: { maxConsecutiveTokenRefusals: 3 } },
    });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(three.lane0Calls).toHaveLength(3);
    expect(r3.supervisor.stats().stoppedSlots).toBe(1);
    r.supervisor.stop();
    r3.supervisor.stop();
  });

  it("a permanent token error still stops the slot at once", async () => {
    const tokens = laneTokens(() => {
      throw new TokenSourceError("unknown_profile", "no such profile", true, 404);
    });
    const r = run(() => ({ liveAfterMs: 5 }), { tokens });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(tokens.lane0Calls).toHaveLength(1);
    expect(withCode(r.log.lines, "session_stopped")[0]!.extra).toMatchObject({
      tokenError: "unknown_profile",
    });
    r.supervisor.stop();
  });
});

describe("Retry-After from the token source", () => {
  it("is waited out exactly, no longer and no shorter", async () => {
    let throttled = 2;
    const tokens = laneTokens(() => {
      if (throttled-- > 0)
        throw new TokenSourceError("idp_throttled", "throttled (429)", false, 429, { retryAfterMs: 7_000 });
    });
    const r = run(() => ({ liveAfterMs: 5 }), { tokens });
    await vi.advanceTimersByTimeAsync(60_000);
    const [a, b, c] = tokens.lane0Calls;
    expect(b! - a!).toBe(7_000);
    expect(c! - b!).toBe(7_000);
    expect(r.supervisor.stats().liveSessions).toBe(2);
    r.supervisor.stop();
  });
});

describe("channels evicted again and again (another consumer of the same OAuth client)", () => {
  /** Every session of slot s0 goes live, then its channel dies `lifeMs` later; s1 is healthy. */
  const evicted = (lifeMs: number) => (_n: number, label: string) =>
    label === "s0"
      ? ({ liveAfterMs: 0, failure: { kind: "channel-dead" }, failAfterMs: lifeMs } as Script)
      : ({ liveAfterMs: 0 } as Script);

  it("the first death rotates at once; repeated deaths back off, with an alarm naming the shared client", async () => {
    const r = run(evicted(2_000));
    await vi.advanceTimersByTimeAsync(2_000);
    const s0 = () => r.sessions.bySlot("s0");
    expect(s0()).toHaveLength(2);
    expect(s0()[1]!.startedAtMs).toBe(s0()[0]!.closedAtMs); // at once
    expect(withCode(r.log.lines, "channel_dead")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_010); // (a 0 ms timer fires 1 ms later under fake timers)
    // Second death within the window: the eviction backoff (base 1 s, random 0.5 -> 500 ms).
    expect(s0()).toHaveLength(2);
    const [backoff] = withCode(r.log.lines, "channel_eviction_backoff");
    expect(backoff).toMatchObject({ level: "error" });
    expect(backoff!.extra).toMatchObject({
      alarm: true,
      slot: "s0",
      deathsInWindow: 2,
      channelsHeld: 2,
      channelLimit: 20,
      cause: "another_consumer_on_oauth_client",
      delayMs: 500,
    });
    expect(r.counts.get("ChannelEvictions")).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(s0()).toHaveLength(3);
    expect(s0()[2]!.startedAtMs - s0()[1]!.closedAtMs!).toBe(500);
    r.supervisor.stop();
  });

  it("bounds the channels created over ten minutes of ping-pong (immediate rotation made 300)", async () => {
    const r = run(evicted(2_000));
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    const created = r.sessions.bySlot("s0").length;
    // 2 s lives, then delays 0.5, 1, 2, 4, 8, 16, 30, 30 s ... (jitter 0.5, cap 60 s): about 25.
    expect(created).toBeGreaterThanOrEqual(20);
    expect(created).toBeLessThanOrEqual(30);
    expect(r.supervisor.stats().stoppedSlots).toBe(0); // never gives up: the other consumer may go away
    expect(r.sessions.bySlot("s1")).toHaveLength(1); // the healthy slot is not disturbed
    r.supervisor.stop();
  });

  it("a channel that lived longer than the window rotates at once again", async () => {
    const r = run(evicted(11 * 60_000), { options: { failures: { evictionWindowMs: 10 * 60_000 } } });
    await vi.advanceTimersByTimeAsync(22 * 60_000 + 10);
    const s0 = r.sessions.bySlot("s0");
    expect(s0).toHaveLength(3);
    expect(s0[2]!.startedAtMs).toBe(s0[1]!.closedAtMs);
    expect(withCode(r.log.lines, "channel_eviction_backoff")).toEqual([]);
    r.supervisor.stop();
  });

  it("names its own channels as the cause when it holds more than the per-client limit", async () => {
    const r = run(evicted(2_000), { options: { channelsPerSession: 11 } });
    await vi.advanceTimersByTimeAsync(4_010);
    expect(withCode(r.log.lines, "channel_eviction_backoff")[0]!.extra).toMatchObject({
      channelsHeld: 22,
      cause: "own_channels_over_limit",
    });
    r.supervisor.stop();
  });
});
