/**
 * Failures that must neither loop nor give up too early, against the real simulator (real HTTP and ws,
 * fauxqs): a subscribe answered 400 with a Genesys body on one slot (bounded attempts counted upstream, the
 * slot stopped with Genesys' reason, its channels' subscriptions deleted, the other slot flowing), the
 * channel limit answered 400 (reason logged), and a second consumer of the same OAuth client evicting the
 * worker's channels at the per-client cap (the worker backs off: bounded channel creations).
 */
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../support/wait-for.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { coverage, type Harness, settle, startHarness } from "./harness.ts";
import { observed, withCode } from "./observed-worker.ts";
import { type RivalConsumer, startRivalConsumer } from "./rival-consumer.ts";

let h: Harness | undefined;
let proxy: FaultProxy | undefined;
let rival: RivalConsumer | undefined;
afterEach(async () => {
  await rival?.stop();
  await h?.close();
  await proxy?.close();
  h = proxy = rival = undefined;
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const BAD_TOPICS = {
  status: 400,
  code: "bad.request",
  message: "Subscription request contains invalid topics",
  contextId: "e2e",
  details: [],
  errors: [],
};

describe("a subscribe answered 400 (Genesys body) on one slot", () => {
  it("is retried a bounded number of times, then that slot stops with Genesys' reason; the other keeps every event flowing", async () => {
    let refusedAuth: string | undefined;
    const o = observed({
      redundancy: 2,
      config: { failures: { maxConsecutiveBadRequests: 4 } },
      // Every subscriptions PUT with the first slot's token (its lane) is answered 400.
      apiVia: async (apiUrl) => {
        proxy = await startFaultProxy(apiUrl, (req) => {
          if (req.method !== "PUT" || !req.url?.includes("/subscriptions")) return undefined;
          refusedAuth ??= req.headers.authorization;
          return req.headers.authorization === refusedAuth ? { status: 400, body: BAD_TOPICS } : undefined;
        });
        return proxy.url;
      },
    });
    h = await startHarness(o.options);
    const fresh = h;
    await waitFor(() => fresh.worker.stats().stoppedSlots === 1, 10_000, "one slot stopped");
    await waitFor(() => fresh.worker.stats().liveSessions === 1, 5_000, "the other live");
    await pause(500); // nothing more is tried
    const puts = proxy!.seen.filter((r) => r.startsWith("PUT"));
    const refusedChannels = new Set<string>();
    // PUTs of the stopped slot: exactly the bound; one more for the live slot.
    expect(puts).toHaveLength(4 + 1);
    for (const put of puts) refusedChannels.add(put.split("/")[5]!);
    // Every abandoned channel's subscriptions were deleted (Genesys has no channel DELETE).
    await waitFor(
      () => proxy!.seen.filter((r) => r.startsWith("DELETE")).length >= 4,
      5_000,
      "DELETE subscriptions of every abandoned channel",
    );
    const deleted = new Set(proxy!.seen.filter((r) => r.startsWith("DELETE")).map((r) => r.split("/")[5]!));
    expect([...refusedChannels].filter((id) => !deleted.has(id))).toHaveLength(1); // only the live one kept
    expect(o.alarms).toEqual(["SessionsStopped"]);
    const [stopped, ...more] = withCode(o.lines, "session_stopped");
    expect(more).toEqual([]);
    expect(stopped!.extra).toMatchObject({
      alarm: true,
      detail: 400,
      upstreamCode: "bad.request",
      upstreamMessage: "Subscription request contains invalid topics",
      reason: "rest_bad_request_400_x4 (bad.request: Subscription request contains invalid topics)",
    });
    const failures = o.lines.filter((l) => l.message === "session failure" && l.extra.detail === 400);
    expect(failures.map((l) => l.extra.consecutive)).toEqual([1, 2, 3, 4]);
    expect(JSON.stringify(o.lines)).not.toContain(refusedAuth!.replace(/^Bearer /, ""));

    fresh.sim.startGenerator(40);
    await pause(1_000);
    fresh.sim.stopGenerator();
    await waitFor(
      () => fresh.events().length >= fresh.sim.ledger.summary().delivered,
      10_000,
      "delivered events in the queue",
    );
    await settle(fresh);
    const c = coverage(fresh);
    expect(c.emitted).toBeGreaterThan(20);
    expect(c.missing).toEqual([]);
    expect(fresh.worker.stats()).toMatchObject({ stoppedSlots: 1, liveSessions: 1, gaps: 0 });
  });
});

describe("the channel limit answered 400 (every channel of the client held and connected by another consumer)", () => {
  it("logs Genesys' code and message on each attempt, and stops after the bound (attempts counted upstream)", async () => {
    const o = observed({
      redundancy: 1,
      sim: { maxChannelsPerClient: 2, channelLimitPolicy: "reject" },
      beforeWorker: (sim) => void sim.faults.secondConsumer(undefined, 2),
    });
    h = await startHarness(o.options);
    const fresh = h;
    await waitFor(() => fresh.worker.stats().stoppedSlots === 1, 10_000, "the slot stopped");
    await pause(500);
    expect(fresh.sim.counters.channelCreateRejected).toBe(5);
    const failures = o.lines.filter((l) => l.message === "session failure");
    expect(failures).toHaveLength(5);
    for (const f of failures) {
      expect(f.extra).toMatchObject({
        failure: "rest-error",
        detail: 400,
        upstreamCode: "notification.channel.limit",
        upstreamMessage: expect.stringContaining("maximum number of notification channels"),
      });
    }
    expect(withCode(o.lines, "session_stopped")[0]!.extra.reason).toMatch(
      /^rest_bad_request_400_x5 \(notification\.channel\.limit: The maximum number of notification channels/,
    );
  });
});

describe("a second consumer of the same OAuth client evicting the worker's channels (quota ping-pong)", () => {
  async function pingPong(evictionWindowMs: number) {
    const o = observed({
      redundancy: 2,
      // Room for 3 channels: the worker wants 2, the rival 2; whoever creates evicts the least recently used.
      sim: { maxChannelsPerClient: 3 },
      config: {
        failures: { evictionWindowMs, evictionBackoff: { baseMs: 400, capMs: 4_000 } },
      },
    });
    h = await startHarness(o.options);
    const fresh = h;
    await waitFor(() => fresh.worker.stats().liveSessions === 2, 5_000, "live");
    const before = fresh.sim.counters.channelsCreated;
    rival = await startRivalConsumer({
      loginUrl: fresh.sim.loginUrl,
      apiUrl: fresh.sim.apiUrl,
      clientId: "sim-client",
      clientSecret: "sim-secret",
      channels: 2,
    });
    await pause(4_000);
    const total = fresh.sim.counters.channelsCreated - before;
    return { o, workerCreated: total - rival.created, rivalCreated: rival.created, fresh };
  }

  it("the worker backs off after repeated deaths (alarm naming the shared client): its channel creations stay bounded", async () => {
    const { o, workerCreated, rivalCreated, fresh } = await pingPong(600_000);
    console.info(`eviction ping-pong, 4 s: worker created ${workerCreated} channels, rival ${rivalCreated}`);
    const backoffs = withCode(o.lines, "channel_eviction_backoff");
    expect(backoffs.length).toBeGreaterThanOrEqual(1);
    expect(backoffs[0]!.extra).toMatchObject({
      alarm: true,
      cause: "another_consumer_on_oauth_client",
      channelLimit: 20,
    });
    expect(o.alarms.filter((a) => a === "ChannelEvictions").length).toBe(backoffs.length);
    // Rotating at once after every death made 38-43 in this window (measured), the rival as many.
    expect(workerCreated).toBeLessThanOrEqual(20);
    expect(fresh.worker.stats().stoppedSlots).toBe(0); // it never gives up: the other consumer may go away
  });
});
