import { afterEach, describe, expect, it } from "vitest";
import { receivedRef, type Simulator, startSimulator } from "../../sim/index.ts";
import { api, createChannel, getToken, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

describe("generator under load", () => {
  it("10k events/s over 200 topics to two sockets: both receive exactly what the ledger says", async () => {
    sim = await startSimulator({ generatorTickMs: 50 });
    const topics = Array.from({ length: 200 }, (_, i) => ({ id: `v2.load.${i}` }));
    const token = await getToken(sim);
    for (let i = 0; i < 2; i++) {
      const channel = await createChannel(sim, token);
      expect((await api(sim, token, "PUT", `/channels/${channel.id}/subscriptions`, topics)).status).toBe(
        200,
      );
      sockets.push(await TestSocket.open(channel.connectUri));
    }
    sim.startGenerator(50);
    await waitFor(() => sim.ledger.total() >= 15_000, 15_000, "15k events");
    sim.stopGenerator();
    const { emitted, delivered } = sim.ledger.summary();
    expect(delivered).toBe(emitted);
    await waitFor(() => sockets.every((s) => s.events.length === emitted), 15_000, "receivers caught up");
    for (const socket of sockets) expect(sim.ledger.missingFrom(socket.events.map(receivedRef))).toEqual([]);
    expect(sim.counters.eventFramesSent).toBe(2 * emitted);
    expect(sim.ledger.entry("v2.load.0", 1)?.deliveredSockets).toBe(2);
  });
});
