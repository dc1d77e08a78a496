import { afterEach, describe, expect, it } from "vitest";
import { receivedRef, type Simulator, startSimulator } from "../../sim/index.ts";
import { createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

async function subscribedSocket(topics: string[]) {
  const token = await getToken(sim);
  const channel = await createChannel(sim, token);
  await subscribe(sim, token, channel.id, topics);
  const socket = await TestSocket.open(channel.connectUri);
  sockets.push(socket);
  return { token, channel, socket };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("events", () => {
  it("publish sends the exact upstream envelope with a sequence and a uuid CorrelationId", async () => {
    sim = await startSimulator();
    const { socket } = await subscribedSocket(["v2.users.x.presence"]);
    const published = sim.publish("v2.users.x.presence");
    sim.publish("v2.users.x.presence");
    await waitFor(() => socket.events.length === 2, 3000, "two events");
    const [first, second] = socket.events;
    expect(Object.keys(first!).sort()).toEqual(["eventBody", "metadata", "topicName", "version"]);
    expect(first).toEqual(published.envelope);
    expect(first!.topicName).toBe("v2.users.x.presence");
    expect(first!.version).toBe("2");
    expect(Object.keys(first!.metadata!)).toEqual(["CorrelationId"]);
    expect(first!.metadata!.CorrelationId).toMatch(UUID);
    expect(second!.metadata!.CorrelationId).toMatch(UUID);
    expect(second!.metadata!.CorrelationId).not.toBe(first!.metadata!.CorrelationId);
    const body = first!.eventBody as Record<string, unknown>;
    expect(body.sequence).toBe(1);
    expect((second!.eventBody as { sequence: number }).sequence).toBe(2);
    expect(body.topic).toBe("v2.users.x.presence");
    expect(Date.parse(body.emittedAt as string)).toBeGreaterThan(0);
    expect(published.deliveredSockets).toBe(1);
  });

  it("publish with a custom body and correlation id sends them verbatim", async () => {
    sim = await startSimulator();
    const { socket } = await subscribedSocket(["t"]);
    sim.publish("t", { same: true }, { correlationId: "fixed-id" });
    sim.publish("t", { same: true }, { correlationId: "fixed-id" });
    await waitFor(() => socket.events.length === 2, 3000, "two events");
    expect(socket.events[0]).toEqual({
      topicName: "t",
      version: "2",
      eventBody: { same: true },
      metadata: { CorrelationId: "fixed-id" },
    });
    expect(sim.ledger.emitted("t").map((e) => e.sequence)).toEqual([1, 2]);
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef))).toEqual([]);
  });

  it("an event goes to every open socket subscribed to its topic, and only to those", async () => {
    sim = await startSimulator();
    const a = (await subscribedSocket(["t", "u"])).socket;
    const b = (await subscribedSocket(["t"])).socket;
    expect(sim.publish("t").deliveredSockets).toBe(2);
    expect(sim.publish("u").deliveredSockets).toBe(1);
    expect(sim.publish("nobody").deliveredSockets).toBe(0);
    await waitFor(() => a.events.length === 2 && b.events.length === 1, 3000, "fan-out");
    expect(b.events[0]!.topicName).toBe("t");
    expect(sim.counters.eventFramesSent).toBe(3);
  });

  it("events for a subscribed channel without an open socket are dropped, and the ledger says so", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const channel = await createChannel(sim, token);
    await subscribe(sim, token, channel.id, ["t"]);
    const lost = sim.publish("t");
    expect(lost.deliveredSockets).toBe(0);
    const socket = await TestSocket.open(channel.connectUri);
    sockets.push(socket);
    sim.publish("t");
    await waitFor(() => socket.events.length === 1, 3000, "second event");
    expect((socket.events[0]!.eventBody as { sequence: number }).sequence).toBe(2);
    expect(sim.ledger.undelivered("t").map((e) => e.sequence)).toEqual([1]);
    expect(sim.ledger.delivered("t").map((e) => e.sequence)).toEqual([2]);
    expect(sim.ledger.summary("t")).toEqual({
      published: 2,
      emitted: 2,
      delivered: 1,
      undelivered: 1,
      identical: 0,
    });
    expect(sim.counters.eventsUndelivered).toBe(1);
  });

  it("generator: per-topic rate roughly honoured, for every topic ever subscribed", async () => {
    sim = await startSimulator({ eventRatePerSec: 100, generatorTickMs: 20 });
    const { socket } = await subscribedSocket(["a", "b"]);
    await waitFor(() => sim.ledger.summary("a").emitted >= 50, 5000, "50 events on a");
    const started = Date.now();
    const startA = sim.ledger.summary("a").emitted;
    await waitFor(() => Date.now() - started >= 500, 2000, "half a second");
    const perSec = ((sim.ledger.summary("a").emitted - startA) * 1000) / (Date.now() - started);
    expect(perSec).toBeGreaterThan(40);
    expect(perSec).toBeLessThan(250);
    expect(sim.ledger.topics().sort()).toEqual(["a", "b"]);
    sim.stopGenerator();
    const total = sim.ledger.total();
    await waitFor(() => socket.events.length === total, 5000, "all events received");
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef))).toEqual([]);
  });

  it("ledger counts are exact against a real client across sockets, drops and reconnects", async () => {
    sim = await startSimulator({ eventRatePerSec: 400, generatorTickMs: 10 });
    const topics = ["t1", "t2", "t3"];
    const { channel } = await subscribedSocket(topics);
    const received: TestSocket[] = [sockets[0]!];
    for (let round = 0; round < 3; round++) {
      await waitFor(() => sim.ledger.delivered().length >= (round + 1) * 300, 5000, "traffic");
      sim.faults.dropSocket(channel.id);
      const next = await TestSocket.open(channel.connectUri);
      sockets.push(next);
      received.push(next);
    }
    await waitFor(() => sim.ledger.delivered().length >= 1500, 5000, "more traffic");
    sim.stopGenerator();
    const last = received.at(-1)!;
    const delivered = sim.ledger.delivered();
    await waitFor(
      () => received.reduce((n, s) => n + s.events.length, 0) >= delivered.length,
      5000,
      "receivers caught up",
    );
    const gotAll = received.flatMap((s) => s.events);
    // Every event the ledger calls delivered reached a client, and nothing arrived that the ledger lacks.
    expect(sim.ledger.missingFrom(gotAll.map(receivedRef), { onlyDelivered: true })).toEqual([]);
    const keys = new Set(
      gotAll.map((e) => `${e.topicName}/${(e.eventBody as { sequence: number }).sequence}`),
    );
    expect(keys.size).toBe(gotAll.length);
    expect(gotAll.length).toBe(delivered.length);
    for (const topic of topics) {
      const emitted = sim.ledger.emitted(topic).map((e) => e.sequence);
      expect(emitted).toEqual(Array.from({ length: emitted.length }, (_, i) => i + 1));
    }
    expect(last.closed).toBe(false);
  });

  it("stopGenerator stops emitting; startGenerator resumes at a new rate", async () => {
    sim = await startSimulator({ eventRatePerSec: 200, generatorTickMs: 10 });
    await subscribedSocket(["t"]);
    await waitFor(() => sim.ledger.total() >= 10, 3000, "events");
    sim.stopGenerator();
    const stoppedAt = sim.ledger.total();
    sim.publish("t"); // manual publish still works
    expect(sim.ledger.total()).toBe(stoppedAt + 1);
    sim.startGenerator(500);
    await waitFor(() => sim.ledger.total() >= stoppedAt + 20, 3000, "resumed");
    expect(() => sim.startGenerator(-1)).toThrow(RangeError);
  });
});
