import { afterEach, describe, expect, it } from "vitest";
import { receivedRef, type Simulator, startSimulator } from "../../sim/index.ts";
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("subscription propagation delay", () => {
  it("the PUT returns and GET lists the topic, but events flow only after the delay", async () => {
    sim = await startSimulator({ subscriptionDelayMinMs: 400, subscriptionDelayMaxMs: 400 });
    const token = await getToken(sim);
    const { channel, socket } = await channelSocket(token, ["t"]);
    const listed = await api(sim, token, "GET", `/channels/${channel.id}/subscriptions`);
    expect((listed.json as { entities: { id: string }[] }).entities.map((e) => e.id)).toEqual(["t"]);
    const early = sim.publish("t");
    expect(early.deliveredSockets).toBe(0);
    await sleep(450);
    const late = sim.publish("t");
    expect(late.deliveredSockets).toBe(1);
    await waitFor(() => socket.events.length === 1, 3000, "the late event");
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef)).map((e) => e.sequence)).toEqual([1]);
    expect(sim.ledger.published("t")[0]!.sockets).toEqual([]);
  });

  it("only added topics wait; topics the channel already had keep flowing", async () => {
    sim = await startSimulator({ subscriptionDelayMinMs: 300, subscriptionDelayMaxMs: 300 });
    const token = await getToken(sim);
    const { channel } = await channelSocket(token, ["kept"]);
    await sleep(350);
    expect(sim.publish("kept").deliveredSockets).toBe(1);
    await subscribe(sim, token, channel.id, ["kept", "added"]);
    expect(sim.publish("kept").deliveredSockets).toBe(1);
    expect(sim.publish("added").deliveredSockets).toBe(0);
    await sleep(350);
    expect(sim.publish("added").deliveredSockets).toBe(1);
  });
  it("faults.setSubscriptionDelay applies to subscriptions made from then on; 0, 0 ends it", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    sim.faults.setSubscriptionDelay(300, 300);
    await channelSocket(token, ["delayed"]);
    expect(sim.publish("delayed").deliveredSockets).toBe(0);
    sim.faults.setSubscriptionDelay(0, 0);
    await channelSocket(token, ["prompt"]);
    expect(sim.publish("prompt").deliveredSockets).toBe(1);
    await sleep(350);
    expect(sim.publish("delayed").deliveredSockets).toBe(1);
    expect(() => sim.faults.setSubscriptionDelay(10, 5)).toThrow(RangeError);
  });
});

describe("per-channel delivery lag", () => {
  it("one channel behind the other: same events, in order, later; the ledger records each write when it happens", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const ahead = await channelSocket(token, ["t"]);
    const behind = await channelSocket(token, ["t"]);
    expect(sim.faults.setChannelLag(behind.channel.id, 400)).toBe(1);
    const events = Array.from({ length: 5 }, () => sim.publish("t"));
    expect(events.every((e) => e.deliveredSockets === 1 && e.queuedSockets === 1)).toBe(true);
    await waitFor(() => ahead.socket.events.length === 5, 3000, "the channel ahead");
    expect(behind.socket.events).toHaveLength(0);
    expect(sim.ledger.published("t").every((e) => e.sockets.length === 1)).toBe(true);
    await waitFor(() => behind.socket.events.length === 5, 3000, "the lagging channel");
    expect(behind.socket.events).toEqual(ahead.socket.events);
    expect(sim.ledger.published("t").every((e) => e.deliveredSockets === 2)).toBe(true);
    expect(sim.counters.eventFramesSent).toBe(10);
  });

  it("jitter keeps the order within a channel", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const { channel, socket } = await channelSocket(token, ["t"]);
    sim.faults.setChannelLag(channel.id, 20, 200);
    for (let i = 0; i < 50; i++) sim.publish("t");
    await waitFor(() => socket.events.length === 50, 5000, "all events");
    const sequences = socket.events.map((e) => (e.eventBody as { sequence: number }).sequence);
    expect(sequences).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("events still held back when the socket ends are never delivered", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const { channel, socket } = await channelSocket(token, ["t"]);
    sim.faults.setChannelLag(channel.id, 10_000);
    sim.publish("t");
    sim.publish("t");
    sim.faults.dropSocket(channel.id);
    await waitFor(() => socket.closed, 3000, "drop");
    expect(sim.ledger.summary("t")).toMatchObject({ published: 2, delivered: 0 });
    expect(socket.events).toHaveLength(0);
  });

  it("channelLagMaxMs gives each new channel its own lag; bad values are refused", async () => {
    await expect(startSimulator({ channelLagMaxMs: -1 })).rejects.toThrow(/channelLagMaxMs/);
    await expect(startSimulator({ subscriptionDelayMinMs: 10, subscriptionDelayMaxMs: 5 })).rejects.toThrow(
      /subscriptionDelayMaxMs/,
    );
    sim = await startSimulator({ channelLagMaxMs: 300, seed: 3 });
    const token = await getToken(sim);
    const a = await channelSocket(token, ["t"]);
    const b = await channelSocket(token, ["t"]);
    const event = sim.publish("t");
    expect(event.deliveredSockets + event.queuedSockets).toBe(2);
    await waitFor(() => a.socket.events.length === 1 && b.socket.events.length === 1, 3000, "both");
  });
});
