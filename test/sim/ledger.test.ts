import { afterEach, describe, expect, it } from "vitest";
import { Ledger, receivedRef, type Simulator, startSimulator } from "../../sim/index.ts";
import { createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

describe("Ledger (unit)", () => {
  it("records per-topic sequences and derives unique uuid-shaped correlation ids", () => {
    const ledger = new Ledger("0badcafe-0000-4000-8000-");
    expect(ledger.record("a", 1).sequence).toBe(1);
    expect(ledger.record("b", 2).sequence).toBe(1);
    const third = ledger.record("a", 3);
    expect(third).toEqual({ index: 2, sequence: 2 });
    expect(ledger.correlationIdOf(2)).toBe("0badcafe-0000-4000-8000-000000000002");
    ledger.record("a", 4, "custom");
    expect(ledger.correlationIdOf(3)).toBe("custom");
    expect(ledger.total()).toBe(4);
    expect(ledger.emitted("a").map((e) => e.sequence)).toEqual([1, 2, 3]);
    expect(ledger.emitted("zzz")).toEqual([]);
  });

  it("tracks deliveries, retractions and missing events by sequence or correlation id", () => {
    const ledger = new Ledger("00000000-0000-4000-8000-");
    for (let i = 0; i < 5; i++) ledger.record("t", i);
    ledger.addDelivered(0, 2);
    ledger.addDelivered(1, 1);
    ledger.addDelivered(2, 1);
    ledger.retractDelivery(2);
    ledger.retractDelivery(4); // never delivered: stays 0
    expect(ledger.summary("t")).toMatchObject({ published: 5, delivered: 2, undelivered: 3 });
    ledger.addDelivered(2, 1);
    ledger.addDelivered(2, 1);
    ledger.retractDelivery(2);
    expect(ledger.summary()).toMatchObject({ published: 5, delivered: 3, undelivered: 2 });
    ledger.retractDelivery(2);
    expect(ledger.summary("t")).toMatchObject({ published: 5, delivered: 2, undelivered: 3 });
    expect(ledger.summary("t")).toMatchObject({
      published: ledger.published("t").length,
      delivered: ledger.delivered("t").length,
      undelivered: ledger.undelivered("t").length,
    });
    expect(ledger.entry("t", 1)?.deliveredSockets).toBe(2);
    const missing = ledger.missingFrom([
      { topicName: "t", sequence: 1 },
      { topicName: "t", correlationId: ledger.correlationIdOf(3) },
      { topicName: "other", sequence: 2 },
    ]);
    expect(missing.map((e) => e.sequence)).toEqual([2, 3, 5]);
    expect(
      ledger.missingFrom([{ topicName: "t", sequence: 1 }], { onlyDelivered: true }).map((e) => e.sequence),
    ).toEqual([2]);
  });

  it("clear() forgets records but keeps sequences and ids distinct", () => {
    const ledger = new Ledger("00000000-0000-4000-8000-");
    ledger.record("t", 0);
    const before = ledger.correlationIdOf(0);
    ledger.clear();
    expect(ledger.total()).toBe(0);
    const after = ledger.record("t", 1);
    expect(after.sequence).toBe(2);
    expect(ledger.correlationIdOf(after.index)).not.toBe(before);
    expect(ledger.emitted()[0]!.sequence).toBe(2);
    expect(ledger.summary()).toMatchObject({ published: 1, delivered: 0, undelivered: 1 });
    ledger.clear();
    expect(ledger.topics()).toEqual([]);
  });

  it("holds 1M events cheaply", () => {
    const ledger = new Ledger("00000000-0000-4000-8000-");
    const names = Array.from({ length: 100 }, (_, i) => `topic.${i}`);
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 1_000_000; i++) ledger.addDelivered(ledger.record(names[i % 100]!, i).index, 1);
    const grown = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heapBefore;
    expect(ledger.summary()).toMatchObject({ published: 1_000_000, delivered: 1_000_000, undelivered: 0 });
    expect(grown).toBeLessThan(80 * 1024 * 1024);
  });

  it("receivedRef extracts topic, sequence and correlation id", () => {
    expect(
      receivedRef({
        topicName: "t",
        version: "2",
        eventBody: { sequence: 4 },
        metadata: { CorrelationId: "c" },
      }),
    ).toMatchObject({
      topicName: "t",
      sequence: 4,
      correlationId: "c",
      contentKey: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(receivedRef({ topicName: "t", eventBody: "x" })).toMatchObject({
      topicName: "t",
      sequence: undefined,
      correlationId: undefined,
    });
  });
});

describe("Ledger accuracy under back-pressure", () => {
  let sim: Simulator;
  const sockets: TestSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await sim?.close();
  });

  it("a drop while frames are still queued in the process retracts exactly those deliveries", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const channel = await createChannel(sim, token);
    await subscribe(sim, token, channel.id, ["big"]);
    const socket = await TestSocket.open(channel.connectUri);
    sockets.push(socket);
    // Stop reading on the client so kernel buffers fill and the server must queue in user space.
    const clientTcp = (socket.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    clientTcp.pause();
    const payload = "x".repeat(256 * 1024);
    for (let i = 0; i < 200; i++) sim.publish("big", { i, payload });
    expect(sim.ledger.delivered("big")).toHaveLength(200);
    sim.faults.dropSocket(channel.id);
    const stillDelivered = sim.ledger.delivered("big").length;
    expect(stillDelivered).toBeLessThan(200); // 50 MB cannot all have left the process
    clientTcp.resume();
    await waitFor(() => socket.closed, 10_000, "client sees the drop");
    expect(socket.events).toHaveLength(stillDelivered);
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef), { onlyDelivered: true })).toEqual([]);
    expect(sim.counters.eventFramesSent).toBe(stillDelivered);
  });

  it("a client abort retracts the frames still queued in the process (kernel buffers stay an upper bound)", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const channel = await createChannel(sim, token);
    await subscribe(sim, token, channel.id, ["big"]);
    const socket = await TestSocket.open(channel.connectUri);
    const clientTcp = (socket.ws as unknown as { _socket: { pause(): void } })._socket;
    clientTcp.pause();
    const payload = "x".repeat(256 * 1024);
    for (let i = 0; i < 200; i++) sim.publish("big", { i, payload });
    socket.terminate();
    await waitFor(() => sim.counters.socketsClosed === 1, 5000, "server sees the abort");
    const delivered = sim.ledger.delivered("big").length;
    expect(delivered).toBeLessThan(200);
    expect(sim.counters.eventFramesSent).toBe(delivered);
  });
});
