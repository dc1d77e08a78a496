import { afterEach, describe, expect, it } from "vitest";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../sim/index.ts";
import { createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

/** A channel with an open socket on the current `sim`. */
async function channelSocket(topics: string[] = []) {
  const token = await getToken(sim);
  const channel = await createChannel(sim, token);
  if (topics.length > 0) await subscribe(sim, token, channel.id, topics);
  const socket = await TestSocket.open(channel.connectUri);
  sockets.push(socket);
  return { token, channel, socket };
}

async function fresh(options: SimulatorOptions = {}, topics: string[] = []) {
  sim = await startSimulator(options);
  return channelSocket(topics);
}

describe("genesys channel socket", () => {
  it("rejects the upgrade with 404 for an unknown channel", async () => {
    sim = await startSimulator();
    const socket = new TestSocket(`ws://127.0.0.1:${sim.port}/channels/streaming-0-missing`);
    sockets.push(socket);
    await waitFor(() => socket.closed, 3000, "rejection");
    expect(socket.unexpectedStatus).toBe(404);
    expect(socket.opened).toBe(false);
    expect(sim.counters.upgradesRejected).toBe(1);
  });

  it("sends the exact heartbeat frame at the configured cadence", async () => {
    const { socket } = await fresh({ heartbeatIntervalMs: 50 });
    const started = Date.now();
    await waitFor(() => socket.heartbeats >= 6, 3000, "6 heartbeats");
    // 6 heartbeats at 50 ms cannot arrive in under ~300 ms: the cadence is not faster than configured.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(socket.messages[0]).toEqual({
      topicName: "channel.metadata",
      eventBody: { message: "WebSocket Heartbeat" },
    });
    expect(sim.counters.heartbeatsSent).toBeGreaterThanOrEqual(6);
  });

  it("answers {message:ping} with a pong", async () => {
    const { socket } = await fresh();
    socket.send({ message: "ping" });
    await waitFor(() => socket.messages.length === 1, 3000, "pong");
    expect(socket.messages[0]).toEqual({ topicName: "channel.metadata", eventBody: { message: "pong" } });
    socket.send({ message: "something else" });
    socket.ws.send("not json");
    socket.send({ message: "ping" });
    await waitFor(() => socket.messages.length === 2, 3000, "second pong");
    expect(sim.counters.pongsSent).toBe(2);
  });

  it("answers protocol-level pings", async () => {
    const { socket } = await fresh();
    let pongs = 0;
    socket.ws.on("pong", () => pongs++);
    socket.ws.ping();
    await waitFor(() => pongs === 1, 3000, "protocol pong");
  });

  it("socket_closing is followed by a forced 1001 close after the grace; events flow until then", async () => {
    const { socket } = await fresh({ socketClosingGraceMs: 300 }, ["t"]);
    const sentAt = Date.now();
    expect(sim.faults.sendSocketClosing("all")).toBe(1);
    expect(sim.faults.sendSocketClosing("all")).toBe(0); // already closing
    await waitFor(
      () => socket.has((m) => m.topicName === "v2.system.socket_closing"),
      3000,
      "socket_closing frame",
    );
    const frame = socket.messages.find(
      (m) => (m as { topicName?: string }).topicName === "v2.system.socket_closing",
    );
    expect(typeof (frame as { eventBody: { message: unknown } }).eventBody.message).toBe("string");
    sim.publish("t");
    await waitFor(() => socket.events.length === 1, 3000, "event during grace");
    expect(socket.closed).toBe(false);
    await waitFor(() => socket.closed, 3000, "forced close");
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(280);
    expect(socket.closeCode).toBe(1001);
    expect(sim.counters.socketClosingSent).toBe(1);
    expect(sim.counters.forcedCloses).toBe(1);
  });

  it("socketClosingEveryMs sends socket_closing to every socket once it is that old", async () => {
    const { socket } = await fresh({ socketClosingEveryMs: 150, socketClosingGraceMs: 5000 });
    await waitFor(() => socket.has((m) => m.topicName === "v2.system.socket_closing"), 3000, "maintenance");
    expect(socket.closed).toBe(false);
  });

  it("a second socket on the channel kicks the first; events go to the new one only", async () => {
    const { channel, socket: first } = await fresh({}, ["t"]);
    const second = await TestSocket.open(channel.connectUri);
    sockets.push(second);
    await waitFor(() => first.closed, 3000, "first kicked");
    expect(second.closed).toBe(false);
    const event = sim.publish("t");
    expect(event.deliveredSockets).toBe(1);
    await waitFor(() => second.events.length === 1, 3000, "event on second");
    expect(first.events).toHaveLength(0);
    expect(sim.counters.socketsKicked).toBe(1);
  });

  it("dropSocket destroys the TCP connection without a close frame (1006)", async () => {
    const { channel, socket } = await fresh({}, ["t"]);
    expect(sim.faults.dropSocket(channel.id)).toBe(1);
    await waitFor(() => socket.closed, 3000, "drop");
    expect(socket.closeCode).toBe(1006);
    expect(sim.counters.drops).toBe(1);
    await waitFor(() => sim.counters.socketsClosed === 1, 3000, "server saw close");
    expect(sim.publish("t").deliveredSockets).toBe(0);
    expect(sim.openSockets()).toHaveLength(0);
  });

  it("dropSocket('random') and ('all') pick open sockets", async () => {
    sim = await startSimulator();
    const a = (await channelSocket()).socket;
    const b = (await channelSocket()).socket;
    expect(sim.faults.dropSocket("random")).toBe(1);
    await waitFor(() => a.closed !== b.closed, 3000, "one dropped");
    expect(sim.faults.dropSocket("all")).toBe(1);
    await waitFor(() => a.closed && b.closed, 3000, "all dropped");
    expect(sim.faults.dropSocket("random")).toBe(0);
  });

  it("randomDropEveryMs keeps dropping open sockets", async () => {
    sim = await startSimulator({ randomDropEveryMs: 100 });
    const { socket } = await channelSocket();
    await waitFor(() => socket.closed, 3000, "random drop");
    expect(socket.closeCode).toBe(1006);
  });

  it("a half-open socket goes silent: no heartbeats, events or pongs, and no close", async () => {
    const { channel, socket } = await fresh({ heartbeatIntervalMs: 40 }, ["t"]);
    await waitFor(() => socket.heartbeats >= 1, 3000, "first heartbeat");
    expect(sim.faults.halfOpen(channel.id)).toBe(1);
    const seen = socket.messages.length;
    let protocolPongs = 0;
    socket.ws.on("pong", () => protocolPongs++);
    socket.send({ message: "ping" });
    socket.ws.ping();
    expect(sim.publish("t").deliveredSockets).toBe(0);
    // A control socket on another channel proves time passes: it receives 5 heartbeats meanwhile.
    const control = (await channelSocket()).socket;
    await waitFor(() => control.heartbeats >= 5, 3000, "control heartbeats");
    expect(socket.messages.length).toBe(seen);
    expect(protocolPongs).toBe(0);
    expect(socket.closed).toBe(false);
    expect(sim.openSockets().find((s) => s.channelId === channel.id)?.halfOpen).toBe(true);
    expect(sim.ledger.undelivered("t")).toHaveLength(1);
  });

  it("a new socket on a channel whose socket is half-open replaces it", async () => {
    const { channel, socket } = await fresh({}, ["t"]);
    sim.faults.halfOpen(channel.id);
    const replacement = await TestSocket.open(channel.connectUri);
    sockets.push(replacement);
    await waitFor(() => socket.closed, 3000, "half-open replaced");
    expect(sim.publish("t").deliveredSockets).toBe(1);
    await waitFor(() => replacement.events.length === 1, 3000, "event after replacement");
  });
});
