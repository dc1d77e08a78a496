import { afterEach, describe, expect, it } from "vitest";
import { fingerprint } from "../../shared/fingerprint.ts";
import { type Simulator, startSimulator } from "../../sim/index.ts";
import { api, createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

async function channelSocket(token: string, topics: string[]) {
  const channel = await createChannel(sim, token);
  await subscribe(sim, token, channel.id, topics);
  const socket = await TestSocket.open(channel.connectUri);
  sockets.push(socket);
  return { channel, socket };
}

const TWO_CLIENTS = [
  { clientId: "a", clientSecret: "sa" },
  { clientId: "b", clientSecret: "sb" },
];
const isClosingNotice = (m: Record<string, unknown>) => m.topicName === "v2.system.socket_closing";

describe("maintenance", () => {
  it("socket_closing to every socket of one OAuth client at once, events until the grace ends, then 1001", async () => {
    sim = await startSimulator({ clients: TWO_CLIENTS, socketClosingGraceMs: 400 });
    const ta = await getToken(sim, "a", "sa");
    const tb = await getToken(sim, "b", "sb");
    const a1 = await channelSocket(ta, ["t"]);
    const a2 = await channelSocket(ta, ["t"]);
    const b1 = await channelSocket(tb, ["t"]);
    expect(sim.faults.maintenance("a")).toBe(2);
    await waitFor(() => a1.socket.has(isClosingNotice) && a2.socket.has(isClosingNotice), 3000, "notices");
    expect(sim.publish("t").deliveredSockets).toBe(3);
    await waitFor(() => a1.socket.closed && a2.socket.closed, 3000, "forced closes");
    expect([a1.socket.closeCode, a2.socket.closeCode]).toEqual([1001, 1001]);
    expect(a1.socket.events).toHaveLength(1);
    expect(b1.socket.closed).toBe(false);
    expect(b1.socket.has(isClosingNotice)).toBe(false);
    expect(sim.counters.forcedCloses).toBe(2);
    // Without a client id: every socket of every client.
    expect(sim.faults.maintenance()).toBe(1);
  });
});

describe("channel quota as documented", () => {
  it("the 21st channel evicts the oldest channel without a socket; its socket-less peers go first", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const idle = await createChannel(sim, token); // oldest, never connected
    const live = await channelSocket(token, ["t"]);
    for (let i = 0; i < 18; i++) await createChannel(sim, token);
    expect(sim.counters.channelsEvicted).toBe(0);
    await createChannel(sim, token); // 21st
    expect(sim.counters.channelsEvicted).toBe(1);
    expect((await api(sim, token, "HEAD", `/channels/${idle.id}`)).status).toBe(404);
    expect((await api(sim, token, "HEAD", `/channels/${live.channel.id}`)).status).toBe(200);
  });

  it("with every channel connected, the oldest-used live channel is evicted: {result:404} then close", async () => {
    sim = await startSimulator({ maxChannelsPerClient: 3 });
    const token = await getToken(sim);
    const oldest = await channelSocket(token, ["t"]);
    const middle = await channelSocket(token, ["t"]);
    const newest = await channelSocket(token, ["t"]);
    // Re-subscribing uses the oldest channel again, so the middle one is now the least recently used.
    await subscribe(sim, token, oldest.channel.id, ["t"]);
    await createChannel(sim, token);
    await waitFor(() => middle.socket.closed, 3000, "evicted socket closed");
    expect(middle.socket.messages.at(-1)).toEqual({ result: "404", message: "channel not found" });
    expect(oldest.socket.closed).toBe(false);
    expect(newest.socket.closed).toBe(false);
  });

  it("a second consumer of the same OAuth client evicts a live channel", async () => {
    sim = await startSimulator({ maxChannelsPerClient: 2 });
    const token = await getToken(sim);
    const first = await channelSocket(token, ["t"]);
    const second = await channelSocket(token, ["t"]);
    expect(sim.faults.secondConsumer("sim-client", 1)).toBe(1);
    await waitFor(() => first.socket.closed, 3000, "evicted");
    expect(first.socket.messages).toContainEqual({ result: "404", message: "channel not found" });
    expect(second.socket.closed).toBe(false);
    // The second consumer's channel counts as connected: the next create evicts the worker's other one.
    await createChannel(sim, token);
    await waitFor(() => second.socket.closed, 3000, "second evicted");
    expect(() => sim.faults.secondConsumer("nobody")).toThrow(/unknown client/);
  });
});

describe("permission change mid-run", () => {
  it("a forbidden topic: existing subscriptions stop, a request including it is a 403 for the whole request", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const { channel, socket } = await channelSocket(token, ["ok", "secret"]);
    sim.faults.forbidTopic("secret");
    expect(sim.publish("secret").deliveredSockets).toBe(0);
    expect(sim.publish("ok").deliveredSockets).toBe(1);
    const path = `/channels/${channel.id}/subscriptions`;
    const refused = await api(sim, token, "PUT", path, [{ id: "ok" }, { id: "secret" }]);
    expect(refused.status).toBe(403);
    expect((refused.json as { code: string }).code).toBe("missing.any.permissions");
    const partial = await api(sim, token, "PUT", `${path}?ignoreErrors=true`, [
      { id: "ok" },
      { id: "secret" },
    ]);
    expect(partial.status).toBe(200);
    expect((partial.json as { entities: { id: string; state: string }[] }).entities).toEqual([
      expect.objectContaining({ id: "ok", state: "Permitted" }),
      expect.objectContaining({ id: "secret", state: "Rejected" }),
    ]);
    await waitFor(() => socket.events.length === 1, 3000, "ok event");
    sim.faults.allowTopic("secret");
    expect((await api(sim, token, "PUT", path, [{ id: "ok" }, { id: "secret" }])).status).toBe(200);
    expect(sim.publish("secret").deliveredSockets).toBe(1);
  });
});

describe("token revocation", () => {
  it("silently: REST 401, its channels stop delivering events while heartbeats continue", async () => {
    sim = await startSimulator({ heartbeatIntervalMs: 50 });
    const revoked = await getToken(sim);
    const other = await getToken(sim);
    const silenced = await channelSocket(revoked, ["t"]);
    const healthy = await channelSocket(other, ["t"]);
    expect(sim.faults.revokeTokenSilently(fingerprint(revoked))).toBe(true);
    expect((await api(sim, revoked, "POST", "/channels")).status).toBe(401);
    expect(sim.publish("t").deliveredSockets).toBe(1);
    const heartbeats = silenced.socket.heartbeats;
    await waitFor(() => silenced.socket.heartbeats >= heartbeats + 3, 3000, "heartbeats go on");
    silenced.socket.send({ message: "ping" });
    await waitFor(
      () => silenced.socket.has((m) => (m.eventBody as { message?: string } | undefined)?.message === "pong"),
      3000,
      "pong",
    );
    await waitFor(() => healthy.socket.events.length === 1, 3000, "healthy channel gets the event");
    expect(silenced.socket.events).toHaveLength(0);
    expect(silenced.socket.closed).toBe(false);
    expect((await api(sim, other, "HEAD", `/channels/${silenced.channel.id}`)).status).toBe(200);
  });

  it("silent revocation also silences a generic stream socket", async () => {
    sim = await startSimulator({ heartbeatIntervalMs: 50 });
    const token = await getToken(sim);
    const socket = await TestSocket.open(`${sim.genericStreamUrl}?topics=g&access_token=${token}`);
    sockets.push(socket);
    sim.faults.revokeTokenSilently(token);
    expect(sim.publish("g").deliveredSockets).toBe(0);
    const heartbeats = socket.heartbeats;
    await waitFor(() => socket.heartbeats >= heartbeats + 2, 3000, "heartbeats");
    expect(socket.closed).toBe(false);
  });
});
