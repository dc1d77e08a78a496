/**
 * Permanent failures and hostile upstream behaviour against the real simulator: a permanent failure stops only
 * its own session and raises the SessionsStopped alarm; no behaviour makes the worker hammer the upstream
 * (attempts counted at the simulator over a window), and transient faults heal once they stop.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AlarmMetricName } from "../../../worker/supervisor/alarm-metric.ts";
import { waitFor } from "../../support/wait-for.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { coverage, type Harness, type HarnessOptions, settle, startHarness } from "./harness.ts";

let h: Harness | undefined;
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await h?.close();
  await proxy?.close();
  h = proxy = undefined;
});

const WINDOW_MS = 1_200;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(o: Partial<HarnessOptions> = {}) {
  const alarms: AlarmMetricName[] = [];
  h = await startHarness({
    redundancy: 2,
    ...o,
    deps: { alarmMetric: (name) => void alarms.push(name), ...o.deps },
  });
  return { h, alarms };
}

describe("permanent failures", () => {
  it("403 on one session's subscriptions stops that session only; the other keeps every event flowing", async () => {
    let denied = 0;
    const alarms: AlarmMetricName[] = [];
    const fresh = await startHarness({
      redundancy: 2,
      deps: { alarmMetric: (name) => void alarms.push(name) },
      // The worker's REST goes through a proxy that refuses the first subscription PUT with 403.
      apiVia: async (apiUrl) => {
        proxy = await startFaultProxy(apiUrl, (req) => {
          // The whole request refused (no permission to subscribe at all), even with ignoreErrors=true.
          if (req.method === "PUT" && req.url?.includes("/subscriptions") && denied === 0) {
            denied++;
            return { status: 403, body: { status: 403, code: "missing.permissions", message: "denied" } };
          }
          return undefined;
        });
        return proxy.url;
      },
    });
    h = fresh;
    await waitFor(() => fresh.worker.stats().stoppedSlots === 1, 5_000, "one slot stopped");
    await waitFor(() => fresh.worker.stats().liveSessions === 1, 5_000, "the other live");
    expect(alarms).toEqual(["SessionsStopped"]);
    const putsBefore = proxy!.seen.filter((r) => r.startsWith("PUT")).length;
    fresh.sim.startGenerator(40);
    await pause(WINDOW_MS);
    fresh.sim.stopGenerator();
    // Every event the live session was sent reaches the queue (the last ones may still be on the wire).
    await waitFor(
      () => fresh.events().length >= fresh.sim.ledger.summary().delivered,
      10_000,
      "delivered events in the queue",
    );
    await settle(fresh);
    // The stopped slot never came back (no retries), the live one was never disturbed.
    expect(proxy!.seen.filter((r) => r.startsWith("PUT")).length).toBe(putsBefore);
    expect(fresh.worker.stats()).toMatchObject({ stoppedSlots: 1, liveSessions: 1, gaps: 0 });
    const c = coverage(fresh);
    expect(c.emitted).toBeGreaterThan(50);
    expect(c.missing).toEqual([]);
  });

  it("invalid_client from the identity provider stops the sessions with one request per token lane, alarm per slot, /healthz 503", async () => {
    const { h: harness, alarms } = await start({
      // Every token request is refused (each slot asks for its own lane).
      beforeWorker: (sim) => sim.faults.oauth.next(100, { status: 401 }),
    });
    await waitFor(() => harness.worker.stats().stoppedSlots === 2, 5_000, "both slots stopped");
    await pause(WINDOW_MS);
    expect(harness.sim.counters.tokenRequests).toBe(2);
    expect(harness.sim.counters.channelsCreated).toBe(0);
    expect(alarms).toEqual(["SessionsStopped", "SessionsStopped"]);
    const res = await fetch(`http://127.0.0.1:${harness.worker.healthPort}/healthz`);
    expect(res.status).toBe(503);
  });
});

describe("no tight loop against a hostile upstream (attempts counted at the simulator)", () => {
  // Backoff in the harness: base 20 ms, cap 300 ms, floor 100 ms => at most ~12 attempts per slot per 1.2 s.
  const MAX_ATTEMPTS = 2 * (WINDOW_MS / 100 + 2);

  it.each([
    [
      "channel create answers 503",
      (hh: Harness) => hh.sim.faults.channelCreate.next(100_000, { status: 503 }),
    ],
    ["subscriptions answer 500", (hh: Harness) => hh.sim.faults.subscriptions.next(100_000, { status: 500 })],
    [
      "channel create answers 429 Retry-After 0",
      (hh: Harness) => hh.sim.faults.channelCreate.next(100_000, { status: 429, retryAfterSec: 0 }),
    ],
    [
      "channel create resets the connection",
      (hh: Harness) => hh.sim.faults.channelCreate.next(100_000, { kind: "reset" }),
    ],
  ])("%s: bounded attempts, then recovery once it stops", async (_name, arm) => {
    const { h: harness } = await start();
    await waitFor(() => harness.worker.stats().liveSessions === 2, 5_000, "live");
    arm(harness);
    const before = harness.sim.counters.channelsCreated + harness.sim.counters.channelCreateRejected;
    const restBefore = harness.sim.counters.restRequests;
    harness.sim.faults.dropSocket("all");
    await pause(WINDOW_MS);
    const restCalls = harness.sim.counters.restRequests - restBefore;
    expect(restCalls, "REST calls in the window").toBeGreaterThanOrEqual(4); // still trying
    // Per attempt at most: create the channel, PUT its subscriptions, DELETE them when the attempt is abandoned.
    expect(restCalls, "REST calls in the window").toBeLessThanOrEqual(3 * MAX_ATTEMPTS);
    expect(
      harness.sim.counters.channelsCreated + harness.sim.counters.channelCreateRejected - before,
    ).toBeLessThanOrEqual(MAX_ATTEMPTS);
    harness.sim.faults.channelCreate.clear();
    harness.sim.faults.subscriptions.clear();
    await waitFor(() => harness.worker.stats().liveSessions === 2, 5_000, "recovery");
    expect(harness.worker.stats().stoppedSlots).toBe(0);
  });

  it("socket_closing the moment every socket opens: bounded sessions, abandoned ones closed", async () => {
    const { h: harness } = await start({ sim: { socketClosingEveryMs: 1, socketClosingGraceMs: 60_000 } });
    let maxOpen = 0;
    const sampler = setInterval(() => {
      maxOpen = Math.max(maxOpen, harness.sim.openSockets().length);
    }, 10);
    await pause(WINDOW_MS);
    clearInterval(sampler);
    expect(harness.sim.counters.socketsOpened).toBeGreaterThanOrEqual(4);
    expect(harness.sim.counters.socketsOpened).toBeLessThanOrEqual(MAX_ATTEMPTS + 4);
    // Per slot one active and one candidate, plus a socket whose close handshake is still under way
    // (abandoned candidates used to pile up: 20 in this window).
    expect(maxOpen).toBeLessThanOrEqual(6);
  });

  it("the OAuth endpoint answers 503: token requests stay bounded, recovery once it stops", async () => {
    const { h: harness } = await start({
      beforeWorker: (sim) => sim.faults.oauth.next(100_000, { status: 503 }),
    });
    await pause(WINDOW_MS);
    const requests = harness.sim.counters.tokenRequests;
    expect(requests).toBeGreaterThanOrEqual(4);
    // One mint (single flight for both slots) = up to 5 tries 10-50 ms apart, then the supervisor backs off.
    expect(requests).toBeLessThanOrEqual(5 * (WINDOW_MS / 100 + 2));
    harness.sim.faults.oauth.clear();
    await waitFor(() => harness.worker.stats().liveSessions === 2, 5_000, "recovery");
  });
});
