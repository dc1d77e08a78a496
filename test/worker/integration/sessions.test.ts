import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { NotificationEnvelope } from "../../../shared/contracts.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../../sim/index.ts";
import type { SessionFailure } from "../../../worker/core/close-policy.ts";
import { GenericSession } from "../../../worker/source/generic-session.ts";
import { GenesysRest } from "../../../worker/source/genesys-rest.ts";
import { GenesysSession } from "../../../worker/source/genesys-session.ts";
import type { Session } from "../../../worker/source/session.ts";
import { DirectTokenSource } from "../../../worker/token/direct-token-source.ts";
import { waitFor } from "../../support/wait-for.ts";

let sim: Simulator | undefined;
const sessions: Session[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) s.close();
  await sim?.close();
  sim = undefined;
});

async function setup(opts: SimulatorOptions = {}) {
  sim = await startSimulator({ host: "127.0.0.1", port: 0, heartbeatIntervalMs: 50, ...opts });
  const tokens = new DirectTokenSource({
    loginUrl: sim.loginUrl,
    clientId: "sim-client",
    clientSecret: "sim-secret",
  });
  return { sim, token: await tokens.current(), tokens };
}

function observe(s: Session) {
  sessions.push(s);
  const seen = { live: 0, events: [] as NotificationEnvelope[], failures: [] as SessionFailure[], closed: 0 };
  s.on("live", () => seen.live++);
  s.on("event", (e) => seen.events.push(e));
  s.on("failure", (f) => seen.failures.push(f));
  s.on("closed", () => seen.closed++);
  return seen;
}

function genesys(
  sim: Simulator,
  token: Awaited<ReturnType<typeof setup>>["token"],
  topics: string[],
  extra = {},
) {
  return new GenesysSession({
    id: `g${sessions.length}`,
    token,
    topics,
    rest: new GenesysRest({ apiUrl: sim.apiUrl }),
    heartbeatTimeoutMs: 400,
    ...extra,
  });
}

describe("GenesysSession against the simulator", () => {
  it("goes live after subscribing, delivers events and filters heartbeats/pongs", async () => {
    const { sim, token } = await setup();
    const s = genesys(sim, token, ["t.a", "t.b"]);
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    expect(sim.subscribedTopics().sort()).toEqual(["t.a", "t.b"]);
    sim.publish("t.a");
    sim.publish("t.b");
    await waitFor(() => seen.events.length === 2, 5_000, "events");
    await waitFor(() => sim.counters.heartbeatsSent >= 3, 5_000, "heartbeats");
    expect(seen.events.every((e) => e.topicName.startsWith("t."))).toBe(true);
    expect(seen.failures).toEqual([]);
    expect(s.channelExpiresAtMs).toBeGreaterThan(Date.now());
  });

  it("shards more than maxTopicsPerChannel topics across channels", async () => {
    const { sim, token } = await setup();
    const topics = Array.from({ length: 5 }, (_, i) => `t.${i}`);
    const s = genesys(sim, token, topics, { maxTopicsPerChannel: 2 });
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    expect(sim.counters.channelsCreated).toBe(3);
    for (const t of topics) sim.publish(t);
    await waitFor(() => seen.events.length === 5, 5_000, "events on every shard");
  });

  it("reports socket_closing but keeps delivering, then the 1001 close", async () => {
    const { sim, token } = await setup({ socketClosingGraceMs: 300 });
    const s = genesys(sim, token, ["t.a"]);
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    sim.faults.sendSocketClosing("all");
    await waitFor(() => seen.failures.length === 1, 5_000, "socket-closing");
    expect(seen.failures[0]).toEqual({ kind: "socket-closing" });
    sim.publish("t.a");
    await waitFor(() => seen.events.length === 1, 5_000, "event after socket_closing");
    await waitFor(() => seen.closed === 1, 5_000, "forced close");
    expect(seen.failures[1]).toMatchObject({ kind: "close", code: 1001 });
  });

  it("a {result:404} frame ends the session as channel-dead", async () => {
    const { sim, token } = await setup();
    const s = genesys(sim, token, ["t.a"]);
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    const channelId = sim.openSockets()[0]?.channelId ?? "";
    expect(sim.faults.killChannel(channelId)).toBe(true);
    await waitFor(() => seen.closed === 1, 5_000, "closed");
    expect(seen.failures).toEqual([{ kind: "channel-dead" }]);
  });

  it("the death notice is no evidence of delivery: the last frame stays the one before it", async () => {
    const { sim, token } = await setup({ heartbeatIntervalMs: 60_000 });
    const s = genesys(sim, token, ["t.a"], { heartbeatTimeoutMs: 120_000 });
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    const lastBefore = s.lastFrameAtMs;
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.faults.killChannel(sim.openSockets()[0]?.channelId ?? "")).toBe(true);
    await waitFor(() => seen.closed === 1, 5_000, "closed");
    // Its coverage ends at the last frame it really received, not when the notice came 200 ms later.
    expect(s.lastFrameAtMs).toBe(lastBefore);
  });

  it("a half-open socket trips the watchdog (no pong to the ping)", async () => {
    const { sim, token } = await setup();
    const s = genesys(sim, token, ["t.a"]);
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    const silencedAt = Date.now();
    sim.faults.halfOpen("all");
    await waitFor(() => seen.closed === 1, 5_000, "watchdog");
    expect(seen.failures).toEqual([{ kind: "watchdog" }]);
    expect(s.lastFrameAtMs).toBeLessThanOrEqual(silencedAt + 5);
  });

  it("maps REST 429 (with Retry-After) and 401 to rest-error failures", async () => {
    const { sim, token, tokens } = await setup();
    sim.faults.channelCreate.next(1, { status: 429, retryAfterSec: 3 });
    const a = genesys(sim, token, ["t.a"]);
    const seenA = observe(a);
    a.start();
    await waitFor(() => seenA.closed === 1, 5_000, "429");
    expect(seenA.failures).toEqual([
      expect.objectContaining({ kind: "rest-error", status: 429, retryAfterSec: 3 }),
    ]);
    sim.faults.revokeToken(token.fingerprint);
    const b = genesys(sim, token, ["t.a"]);
    const seenB = observe(b);
    b.start();
    await waitFor(() => seenB.closed === 1, 5_000, "401");
    // Genesys' own error code and message are kept for the logs and the failure record.
    expect(seenB.failures).toEqual([
      {
        kind: "rest-error",
        status: 401,
        upstreamCode: "bad.credentials",
        upstreamMessage: "Invalid login credentials.",
      },
    ]);
    expect(seenB.live).toBe(0);
    expect(tokens).toBeDefined();
  });

  it("a forbidden topic is refused alone (ignoreErrors=true): the others are subscribed and flow", async () => {
    const { sim, token } = await setup();
    sim.faults.forbidTopic("t.secret");
    const s = genesys(sim, token, ["t.a", "t.secret", "t.b"]);
    const seen = observe(s);
    const refused: string[][] = [];
    s.on("refused", (topics) => refused.push(topics));
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    expect(refused).toEqual([["t.secret"]]);
    expect(sim.subscribedTopics().sort()).toEqual(["t.a", "t.b"]);
    sim.publish("t.a");
    sim.publish("t.b");
    await waitFor(() => seen.events.length === 2, 5_000, "events of the permitted topics");
    expect(seen.failures).toEqual([]);
  });

  it("a topic forbidden mid-run is found gone by the channel probe and reported refused since the last confirmation", async () => {
    const { sim, token } = await setup();
    const s = genesys(sim, token, ["t.a", "t.secret"], { probeIntervalMs: 100 });
    const seen = observe(s);
    const refused: Array<{ topics: string[]; sinceMs: number | undefined }> = [];
    s.on("refused", (topics, sinceMs) => refused.push({ topics, sinceMs }));
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    await new Promise((r) => setTimeout(r, 250)); // a few probes confirm both topics
    expect(refused).toEqual([]);
    const forbiddenAtMs = Date.now();
    sim.faults.forbidTopic("t.secret");
    await waitFor(() => refused.length === 1, 5_000, "probe finds the dropped subscription");
    expect(refused[0]!.topics).toEqual(["t.secret"]);
    // Withdrawn back to the probe before the drop (at most one probe interval plus a probe's time earlier).
    expect(refused[0]!.sinceMs!).toBeLessThanOrEqual(forbiddenAtMs);
    expect(refused[0]!.sinceMs!).toBeGreaterThan(forbiddenAtMs - 1_000);
    await new Promise((r) => setTimeout(r, 250));
    expect(refused).toHaveLength(1); // reported once, not at every probe
    sim.publish("t.a");
    await waitFor(() => seen.events.length === 1, 5_000, "the other topic keeps flowing");
    expect(seen.failures).toEqual([]);
  });

  it("a slow subscriptions answer vouches for the topics from the request's send time, not the answer's", async () => {
    const { sim, token } = await setup();
    const sentAt: number[] = [];
    class SlowPut extends GenesysRest {
      override async putSubscriptions(...args: Parameters<GenesysRest["putSubscriptions"]>) {
        sentAt.push(Date.now());
        const refused = await super.putSubscriptions(...args);
        await new Promise((r) => setTimeout(r, 300)); // the answer travels slowly
        return refused;
      }
    }
    const s = new GenesysSession({
      id: "slow-put",
      token,
      topics: ["t.a"],
      rest: new SlowPut({ apiUrl: sim.apiUrl }),
      heartbeatTimeoutMs: 400,
      probeIntervalMs: 0,
    });
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    // The server applied the PUT somewhere between send and answer: only the send time is safe evidence.
    expect(s.topicEvidenceMs("t.a")).toBeLessThanOrEqual(sentAt[0]!);
    expect(s.topicEvidenceMs("t.a")).toBeGreaterThan(sentAt[0]! - 100);
  });

  it("confirmSubscriptions finds a subscription dropped since subscribe at once (no periodic probe)", async () => {
    const { sim, token } = await setup();
    const s = genesys(sim, token, ["t.a", "t.secret"], { probeIntervalMs: 0 });
    const seen = observe(s);
    const refused: Array<{ topics: string[]; sinceMs: number | undefined }> = [];
    s.on("refused", (topics, sinceMs) => refused.push({ topics, sinceMs }));
    const beforeStart = Date.now();
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    const liveAtMs = Date.now();
    s.confirmSubscriptions();
    await new Promise((r) => setTimeout(r, 200));
    expect(refused).toEqual([]); // everything still held
    sim.faults.forbidTopic("t.secret");
    s.confirmSubscriptions();
    await waitFor(() => refused.length === 1, 5_000, "the handover check finds the dropped subscription");
    expect(refused[0]!.topics).toEqual(["t.secret"]);
    // Back to the previous check (the one just before the drop), not to the subscribe.
    expect(refused[0]!.sinceMs!).toBeGreaterThanOrEqual(liveAtMs);
    expect(refused[0]!.sinceMs!).toBeGreaterThan(beforeStart);
    expect(seen.failures).toEqual([]);
    s.close();
  });

  it("refused topics are retried on the same channel; once allowed they are regained and flow", async () => {
    const { sim, token } = await setup();
    sim.faults.forbidTopic("t.secret");
    const s = genesys(sim, token, ["t.a", "t.secret"], { refusedTopicRetryMs: 100, probeIntervalMs: 0 });
    const seen = observe(s);
    const regained: Array<{ topics: string[]; sinceMs: number }> = [];
    s.on("regained", (topics, sinceMs) => regained.push({ topics, sinceMs }));
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    await new Promise((r) => setTimeout(r, 300)); // retries while still forbidden: nothing regained
    expect(regained).toEqual([]);
    const allowedAtMs = Date.now();
    sim.faults.allowTopic("t.secret");
    await waitFor(() => regained.length === 1, 5_000, "retry subscribes the topic");
    expect(regained[0]!.topics).toEqual(["t.secret"]);
    expect(regained[0]!.sinceMs).toBeGreaterThanOrEqual(allowedAtMs);
    expect(sim.subscribedTopics().sort()).toEqual(["t.a", "t.secret"]);
    sim.publish("t.secret");
    await waitFor(() => seen.events.length === 1, 5_000, "the regained topic flows");
    await new Promise((r) => setTimeout(r, 300));
    expect(regained).toHaveLength(1); // no more retries once everything is subscribed
    expect(seen.failures).toEqual([]);
  });

  it("a 429 on the subscriptions call is retried on the same channel after exactly its Retry-After", async () => {
    const { sim, token } = await setup();
    sim.faults.subscriptions.next(2, { status: 429, retryAfterSec: 0.3 });
    const s = genesys(sim, token, ["t.a"]);
    const seen = observe(s);
    const startedAt = Date.now();
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live after two throttled subscriptions calls");
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(600);
    expect(seen.failures).toEqual([]);
    expect(sim.counters.channelsCreated).toBe(1);
  });

  it("a session closed while it waits out a throttle ends at once and never goes live later", async () => {
    const { sim, token } = await setup();
    sim.faults.subscriptions.next(1, { status: 429, retryAfterSec: 30 });
    const s = genesys(sim, token, ["t.a"]);
    const seen = observe(s);
    s.start();
    await waitFor(
      () => sim.counters.channelsCreated === 1 && sim.subscribedTopics().length === 0,
      5_000,
      "throttled",
    );
    s.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.closed).toBe(1);
    expect(seen.live).toBe(0);
    expect(seen.failures).toEqual([]);
    expect(sim.counters.channelsCreated).toBe(1);
  });
});

describe("GenesysSession leaves no subscriptions behind on a channel it abandons", () => {
  it("a subscriptions PUT that lands after the session ended is deleted again", async () => {
    const { sim, token } = await setup();
    sim.faults.subscriptions.next(1, { kind: "slow", delayMs: 400 });
    const s = genesys(sim, token, ["t.a"]);
    const seen = observe(s);
    s.start();
    // Channel created, socket open, the PUT held by the simulator.
    await waitFor(
      () => sim.counters.restRequests >= 2 && sim.counters.socketsOpened === 1,
      5_000,
      "PUT in flight",
    );
    s.close(); // its DELETE lands first; the PUT after it subscribes the abandoned channel again
    await waitFor(() => sim.counters.subscriptionsPut === 1, 5_000, "the held PUT applied");
    await waitFor(() => sim.counters.subscriptionsDeleted === 2, 5_000, "deleted again after the PUT");
    expect(sim.subscribedTopics()).toEqual([]);
    expect(seen.live).toBe(0);
    expect(seen.closed).toBe(1);
  });
});

describe("GenesysSession liveness confirmation", () => {
  let rest: Server | undefined;
  let silent: WebSocketServer | undefined;
  afterEach(async () => {
    for (const c of silent?.clients ?? []) c.terminate();
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
    rest?.closeAllConnections();
    await new Promise<void>((r) => (rest ? rest.close(() => r()) : r()));
    rest = silent = undefined;
  });

  it("a socket that opens and subscribes but passes no frame never goes live (watchdog failure)", async () => {
    // Upstream that accepts everything and then says nothing on the socket, not even a pong.
    silent = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => silent?.once("listening", () => r()));
    const wsPort = (silent.address() as AddressInfo).port;
    let puts = 0;
    rest = createServer((req, res) => {
      req.resume();
      if (req.method === "POST") {
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            id: "c1",
            connectUri: `ws://127.0.0.1:${wsPort}/`,
            expires: new Date(Date.now() + 3_600_000).toISOString(),
          }),
        );
        return;
      }
      if (req.method === "PUT") puts++;
      res.writeHead(200, { "content-type": "application/json" }).end("[]");
    });
    await new Promise<void>((r) => rest?.listen(0, "127.0.0.1", r));
    const apiUrl = `http://127.0.0.1:${(rest.address() as AddressInfo).port}`;
    const s = new GenesysSession({
      id: "silent",
      token: { accessToken: "x", expiresAtMs: Date.now() + 3_600_000, fingerprint: "f" },
      topics: ["t.a"],
      rest: new GenesysRest({ apiUrl }),
      heartbeatTimeoutMs: 300,
    });
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.closed === 1, 5_000, "closed");
    expect(puts).toBe(1);
    expect(seen.live).toBe(0);
    expect(seen.failures).toEqual([{ kind: "watchdog" }]);
  });

  it("against the simulator the ping is answered and the session goes live", async () => {
    const { sim, token } = await setup({ heartbeatIntervalMs: 60_000 });
    const s = genesys(sim, token, ["t.a"]);
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    expect(sim.counters.pongsSent).toBeGreaterThanOrEqual(1);
  });
});

describe("GenericSession against the simulator", () => {
  const generic = (
    sim: Simulator,
    token: Awaited<ReturnType<typeof setup>>["token"],
    placement: "query" | "header",
  ) =>
    new GenericSession({
      id: `x${sessions.length}`,
      token,
      streamUrl: sim.genericStreamUrl,
      topics: ["t.a"],
      tokenPlacement: placement,
      heartbeatTimeoutMs: 400,
    });

  it.each(["query", "header"] as const)(
    "goes live with the token in the %s and delivers events",
    async (placement) => {
      const { sim, token } = await setup();
      const s = generic(sim, token, placement);
      const seen = observe(s);
      s.start();
      await waitFor(() => seen.live === 1, 5_000, "live");
      await waitFor(() => sim!.subscribedTopics().includes("t.a"), 5_000, "subscribed");
      sim.publish("t.a");
      await waitFor(() => seen.events.length === 1, 5_000, "event");
    },
  );

  it("token expiry closes with 4001; a stale token is refused with a 401 upgrade", async () => {
    const { sim, token } = await setup();
    const s = generic(sim, token, "query");
    const seen = observe(s);
    s.start();
    await waitFor(() => seen.live === 1, 5_000, "live");
    sim.faults.expireAllTokens();
    await waitFor(() => seen.closed === 1, 5_000, "4001");
    expect(seen.failures[0]).toMatchObject({ kind: "close", code: 4001 });
    const again = generic(sim, token, "query");
    const seen2 = observe(again);
    again.start();
    await waitFor(() => seen2.closed === 1, 5_000, "401 upgrade");
    expect(seen2.failures).toEqual([{ kind: "upgrade-rejected", status: 401 }]);
  });
});
