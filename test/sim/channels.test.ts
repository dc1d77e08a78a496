import { afterEach, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../sim/index.ts";
import { api, createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

async function open(url: string): Promise<TestSocket> {
  const socket = await TestSocket.open(url);
  sockets.push(socket);
  return socket;
}

describe("channels", () => {
  it("create returns id, connectUri on this server and an ISO expiry one lifetime ahead", async () => {
    sim = await startSimulator({ channelLifetimeMs: 60_000 });
    const token = await getToken(sim);
    const before = Date.now();
    const channel = await createChannel(sim, token);
    expect(channel.id).toMatch(/^streaming-0-[0-9a-f]+$/);
    expect(channel.connectUri).toBe(`ws://127.0.0.1:${sim.port}/channels/${channel.id}`);
    const expires = Date.parse(channel.expires);
    expect(new Date(expires).toISOString()).toBe(channel.expires);
    expect(expires).toBeGreaterThanOrEqual(before + 60_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(sim.counters.channelsCreated).toBe(1);
  });

  it("requires a valid bearer token", async () => {
    sim = await startSimulator();
    expect((await api(sim, undefined, "POST", "/channels")).status).toBe(401);
    expect((await api(sim, "made-up", "POST", "/channels")).status).toBe(401);
    expect(sim.counters.channelsCreated).toBe(0);
    expect(sim.counters.restUnauthorized).toBe(2);
  });

  it("GET lists the token's channels by default and the client's with includechannels=oauthclient", async () => {
    sim = await startSimulator();
    const t1 = await getToken(sim);
    const t2 = await getToken(sim);
    const a = await createChannel(sim, t1);
    const b = await createChannel(sim, t2);
    const own = (await api(sim, t1, "GET", "/channels")).json as { entities: { id: string }[] };
    expect(own.entities.map((c) => c.id)).toEqual([a.id]);
    const all = (await api(sim, t1, "GET", "/channels?includechannels=oauthclient")).json as {
      entities: { id: string; connectUri: string }[];
    };
    expect(all.entities.map((c) => c.id)).toEqual([a.id, b.id]);
    expect(all.entities[1]!.connectUri).toBe(b.connectUri);
  });

  it("HEAD is 200 for a live channel, 404 for an unknown one or another client's", async () => {
    sim = await startSimulator({
      clients: [
        { clientId: "a", clientSecret: "sa" },
        { clientId: "b", clientSecret: "sb" },
      ],
    });
    const ta = await getToken(sim, "a", "sa");
    const tb = await getToken(sim, "b", "sb");
    const channel = await createChannel(sim, ta);
    expect((await api(sim, ta, "HEAD", `/channels/${channel.id}`)).status).toBe(200);
    expect((await api(sim, ta, "HEAD", "/channels/streaming-0-nope")).status).toBe(404);
    expect((await api(sim, tb, "HEAD", `/channels/${channel.id}`)).status).toBe(404);
  });

  it("a channel expires after its lifetime; re-subscribing extends it", async () => {
    sim = await startSimulator({ channelLifetimeMs: 600 });
    const token = await getToken(sim);
    const kept = await createChannel(sim, token);
    const lapsed = await createChannel(sim, token);
    await subscribe(sim, token, kept.id, ["t"]);
    // Keep re-subscribing `kept` while `lapsed` runs out.
    const deadline = Date.now() + 5000;
    while ((await api(sim, token, "HEAD", `/channels/${lapsed.id}`)).status === 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await subscribe(sim, token, kept.id, ["t"]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await api(sim, token, "HEAD", `/channels/${kept.id}`)).status).toBe(200);
    const listed = (await api(sim, token, "GET", `/channels`)).json as {
      entities: { id: string; expires: string }[];
    };
    expect(listed.entities.map((c) => c.id)).toEqual([kept.id]);
    expect(Date.parse(listed.entities[0]!.expires)).toBeGreaterThan(Date.parse(kept.expires));
    expect((await open(kept.connectUri)).opened).toBe(true);
    const rejected = new TestSocket(lapsed.connectUri);
    sockets.push(rejected);
    await waitFor(() => rejected.closed, 3000, "upgrade rejection");
    expect(rejected.unexpectedStatus).toBe(404);
  });

  it("an expiring channel with a socket sends {result:404} and closes it", async () => {
    sim = await startSimulator({ channelLifetimeMs: 400 });
    const token = await getToken(sim);
    const channel = await createChannel(sim, token);
    const socket = await open(channel.connectUri);
    await waitFor(() => socket.closed, 3000, "channel expiry close");
    expect(socket.messages).toContainEqual({ result: "404", message: "channel not found" });
    expect(sim.counters.notFoundFramesSent).toBe(1);
  });

  it("the 21st channel evicts the oldest channel without a socket", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const channels = [];
    for (let i = 0; i < 20; i++) channels.push(await createChannel(sim, token));
    await open(channels[0]!.connectUri); // oldest has a socket: must survive
    const extra = await createChannel(sim, token);
    expect((await api(sim, token, "HEAD", `/channels/${channels[0]!.id}`)).status).toBe(200);
    expect((await api(sim, token, "HEAD", `/channels/${channels[1]!.id}`)).status).toBe(404);
    expect((await api(sim, token, "HEAD", `/channels/${extra.id}`)).status).toBe(200);
    const listed = (await api(sim, token, "GET", "/channels")).json as { entities: unknown[] };
    expect(listed.entities).toHaveLength(20);
    expect(sim.counters.channelsEvicted).toBe(1);
  });

  it("the cap is per OAuth client", async () => {
    sim = await startSimulator({
      maxChannelsPerClient: 2,
      clients: [
        { clientId: "a", clientSecret: "sa" },
        { clientId: "b", clientSecret: "sb" },
      ],
    });
    const ta = await getToken(sim, "a", "sa");
    const tb = await getToken(sim, "b", "sb");
    const a1 = await createChannel(sim, ta);
    const b1 = await createChannel(sim, tb);
    await createChannel(sim, ta);
    await createChannel(sim, ta);
    expect((await api(sim, ta, "HEAD", `/channels/${a1.id}`)).status).toBe(404);
    expect((await api(sim, tb, "HEAD", `/channels/${b1.id}`)).status).toBe(200);
  });

  it("with every channel connected the next create evicts the oldest (default, as documented) or is a 400 (reject)", async () => {
    sim = await startSimulator({ maxChannelsPerClient: 2, channelLimitPolicy: "reject" });
    let token = await getToken(sim);
    for (let i = 0; i < 2; i++) await open((await createChannel(sim, token)).connectUri);
    const refused = await api(sim, token, "POST", "/channels");
    expect(refused.status).toBe(400);
    expect((refused.json as { code: string }).code).toBe("notification.channel.limit");
    expect(sim.counters.channelCreateRejected).toBe(1);
    await sim.close();

    sim = await startSimulator({ maxChannelsPerClient: 2 });
    token = await getToken(sim);
    const first = await createChannel(sim, token);
    const firstSocket = await open(first.connectUri);
    await open((await createChannel(sim, token)).connectUri);
    expect((await api(sim, token, "POST", "/channels")).status).toBe(200);
    await waitFor(() => firstSocket.closed, 3000, "evicted socket closed");
    expect(firstSocket.messages).toContainEqual({ result: "404", message: "channel not found" });
  });

  it("channels die with the token that created them (expiry and revocation)", async () => {
    sim = await startSimulator({ tokenLifetimeSec: 0.5 });
    const shortLived = await getToken(sim);
    const channel = await createChannel(sim, shortLived);
    const socket = await open(channel.connectUri);
    await waitFor(() => socket.closed, 3000, "token-expiry channel death");
    expect(socket.messages).toContainEqual({ result: "404", message: "channel not found" });
    const fresh = await getToken(sim);
    expect((await api(sim, fresh, "HEAD", `/channels/${channel.id}`)).status).toBe(404);
    await sim.close();

    sim = await startSimulator();
    const t1 = await getToken(sim);
    const t2 = await getToken(sim);
    const doomed = await createChannel(sim, t1);
    const survivor = await createChannel(sim, t2);
    const doomedSocket = await open(doomed.connectUri);
    const survivorSocket = await open(survivor.connectUri);
    sim.faults.revokeToken(t1);
    await waitFor(() => doomedSocket.closed, 3000, "revocation channel death");
    expect(doomedSocket.messages).toContainEqual({ result: "404", message: "channel not found" });
    expect(survivorSocket.closed).toBe(false);
    expect((await api(sim, t2, "HEAD", `/channels/${survivor.id}`)).status).toBe(200);
  });

  it("killChannel sends the 404 frame, closes the socket and the channel is gone", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const channel = await createChannel(sim, token);
    const socket = await open(channel.connectUri);
    expect(sim.faults.killChannel(channel.id)).toBe(true);
    expect(sim.faults.killChannel(channel.id)).toBe(false);
    await waitFor(() => socket.closed, 3000, "kill close");
    expect(socket.messages.at(-1)).toEqual({ result: "404", message: "channel not found" });
    expect((await api(sim, token, "HEAD", `/channels/${channel.id}`)).status).toBe(404);
  });

  it("channel create faults: 429 with Retry-After, then 500, then success", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    sim.faults.channelCreate.next(1, { status: 429, retryAfterSec: 3 });
    sim.faults.channelCreate.next(1, { status: 500 });
    const limited = await api(sim, token, "POST", "/channels");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    expect((limited.json as { code: string }).code).toBe("too.many.requests.retry.after");
    expect((await api(sim, token, "POST", "/channels")).status).toBe(500);
    expect((await api(sim, token, "POST", "/channels")).status).toBe(200);
    expect(sim.counters.channelsCreated).toBe(1);
  });

  it("channel create faults: garbage body, reset connection, slow then served", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    sim.faults.channelCreate.next(1, { kind: "garbage" });
    sim.faults.channelCreate.next(1, { kind: "reset" });
    sim.faults.channelCreate.next(1, { kind: "slow", delayMs: 200 });
    const garbage = await api(sim, token, "POST", "/channels");
    expect(garbage.status).toBe(200);
    expect(garbage.json).toBeUndefined();
    await expect(api(sim, token, "POST", "/channels")).rejects.toThrow();
    const started = Date.now();
    const slow = await api(sim, token, "POST", "/channels");
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(slow.status).toBe(200);
    expect(sim.counters.channelsCreated).toBe(1);
    // Faults on channel create do not leak onto other endpoints.
    sim.faults.channelCreate.next(1, { status: 500 });
    expect((await api(sim, token, "GET", "/channels")).status).toBe(200);
    expect(sim.faults.channelCreate.pending).toBe(1);
  });
});
