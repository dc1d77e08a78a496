import { afterEach, describe, expect, it } from "vitest";
import { receivedRef, type Simulator, startSimulator } from "../../sim/index.ts";
import { createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

const KiB = 1024;
const MiB = 1024 * KiB;

async function listen(topics: string[]) {
  const token = await getToken(sim);
  const channel = await createChannel(sim, token);
  await subscribe(sim, token, channel.id, topics);
  const socket = await TestSocket.open(channel.connectUri);
  sockets.push(socket);
  return socket;
}

describe("large events", () => {
  it("300 KiB, 1.5 MiB and 5 MiB frames arrive whole, exactly that size", async () => {
    sim = await startSimulator();
    const socket = await listen(["big"]);
    const sizes = [300 * KiB, 1.5 * MiB, 5 * MiB];
    const raw: number[] = [];
    socket.ws.on("message", (data: Buffer) => raw.push(data.length));
    const published = sizes.map((size) => sim.publishLarge("big", size));
    expect(published.map((e) => e.sizeBytes)).toEqual(sizes);
    await waitFor(() => socket.events.length === 3, 10_000, "three large events");
    expect(raw).toEqual(sizes);
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef))).toEqual([]);
    expect(() => sim.publishLarge("big", 0)).toThrow(RangeError);
  });

  it("the generator makes a configurable share of its events large", async () => {
    sim = await startSimulator({ largeEventShare: 0.5, largeEventSizes: [200 * KiB], generatorTickMs: 10 });
    const socket = await listen(["t"]);
    const raw: number[] = [];
    socket.ws.on("message", (data: Buffer) => raw.push(data.length));
    sim.startGenerator(100);
    await waitFor(() => sim.ledger.total() >= 20, 5000, "events");
    sim.stopGenerator();
    await waitFor(() => socket.events.length === sim.ledger.total(), 10_000, "all received");
    const large = raw.filter((n) => n === 200 * KiB).length;
    expect(large).toBeGreaterThan(0);
    expect(large).toBeLessThan(socket.events.length);
    await expect(startSimulator({ largeEventShare: 2 })).rejects.toThrow(/largeEventShare/);
  });
});
