import { afterEach, describe, expect, it } from "vitest";
import { receivedRef, type Simulator, startSimulator } from "../../sim/index.ts";
import { getToken, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

function track(socket: TestSocket): TestSocket {
  sockets.push(socket);
  return socket;
}

describe("generic stream mode", () => {
  it("accepts the token in the access_token query and streams the requested topics", async () => {
    sim = await startSimulator({ heartbeatIntervalMs: 50 });
    const token = await getToken(sim);
    const socket = track(
      await TestSocket.open(`${sim.genericStreamUrl}?topics=a,b&access_token=${encodeURIComponent(token)}`),
    );
    expect(sim.subscribedTopics().sort()).toEqual(["a", "b"]);
    sim.publish("a");
    sim.publish("c");
    await waitFor(() => socket.events.length === 1 && socket.heartbeats >= 1, 3000, "event + heartbeat");
    expect(socket.events[0]!.topicName).toBe("a");
    expect(sim.openSockets()[0]!.kind).toBe("generic");
    socket.send({ message: "ping" });
    await waitFor(
      () => socket.has((m) => (m.eventBody as { message?: string })?.message === "pong"),
      3000,
      "pong",
    );
  });

  it("accepts the token in an Authorization: Bearer header", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const socket = track(
      await TestSocket.open(`${sim.genericStreamUrl}?topics=a`, { authorization: `Bearer ${token}` }),
    );
    expect(sim.publish("a").deliveredSockets).toBe(1);
    await waitFor(() => socket.events.length === 1, 3000, "event");
  });

  it("refuses the upgrade with HTTP 401 for a missing, unknown or stale token", async () => {
    sim = await startSimulator({ tokenLifetimeSec: 0.2 });
    const stale = await getToken(sim);
    await waitFor(() => sim.counters.tokensExpired === 1, 3000, "expiry");
    for (const url of [
      `${sim.genericStreamUrl}?topics=a`,
      `${sim.genericStreamUrl}?topics=a&access_token=unknown`,
      `${sim.genericStreamUrl}?topics=a&access_token=${encodeURIComponent(stale)}`,
    ]) {
      const socket = track(new TestSocket(url));
      await waitFor(() => socket.closed, 3000, "rejection");
      expect(socket.unexpectedStatus).toBe(401);
      expect(socket.opened).toBe(false);
    }
    expect(sim.counters.upgradesRejected).toBe(3);
  });

  it("closes with 4001 when the token expires", async () => {
    sim = await startSimulator({ tokenLifetimeSec: 0.4 });
    const token = await getToken(sim);
    const socket = track(await TestSocket.open(`${sim.genericStreamUrl}?topics=a&access_token=${token}`));
    await waitFor(() => socket.closed, 3000, "expiry close");
    expect(socket.closeCode).toBe(4001);
    expect(sim.counters.genericExpiryCloses).toBe(1);
    expect(sim.subscribedTopics()).toEqual([]);
  });

  it("closes with 1008 when so configured, also on revocation", async () => {
    sim = await startSimulator({ genericCloseCode: 1008 });
    const token = await getToken(sim);
    const other = await getToken(sim);
    const socket = track(await TestSocket.open(`${sim.genericStreamUrl}?topics=a&access_token=${token}`));
    const survivor = track(await TestSocket.open(`${sim.genericStreamUrl}?topics=a&access_token=${other}`));
    sim.faults.revokeToken(token);
    await waitFor(() => socket.closed, 3000, "revocation close");
    expect(socket.closeCode).toBe(1008);
    expect(survivor.closed).toBe(false);
    expect(sim.publish("a").deliveredSockets).toBe(1);
  });

  it("generic sockets take part in drops, half-open, socket_closing and the ledger", async () => {
    sim = await startSimulator({ socketClosingGraceMs: 200 });
    const token = await getToken(sim);
    const a = track(await TestSocket.open(`${sim.genericStreamUrl}?topics=t&access_token=${token}`));
    const b = track(await TestSocket.open(`${sim.genericStreamUrl}?topics=t&access_token=${token}`));
    const c = track(await TestSocket.open(`${sim.genericStreamUrl}?topics=t&access_token=${token}`));
    const [ia, ib, ic] = sim.openSockets().map((s) => s.id);
    expect(sim.publish("t").deliveredSockets).toBe(3);
    expect(sim.faults.dropSocket(ia!)).toBe(1);
    expect(sim.faults.halfOpen(ib!)).toBe(1);
    expect(sim.faults.sendSocketClosing(ic!)).toBe(1);
    await waitFor(() => a.closed && c.closed, 3000, "drop + forced close");
    expect(a.closeCode).toBe(1006);
    expect(c.closeCode).toBe(1001);
    expect(b.closed).toBe(false);
    expect(sim.publish("t").deliveredSockets).toBe(0);
    await waitFor(() => a.events.length + b.events.length + c.events.length === 3, 3000, "first event x3");
    expect(sim.ledger.missingFrom(c.events.map(receivedRef), { onlyDelivered: true })).toEqual([]);
    expect(sim.ledger.summary()).toMatchObject({ published: 2, delivered: 1, undelivered: 1 });
  });

  it("unknown upgrade paths are refused with 404", async () => {
    sim = await startSimulator();
    const socket = track(new TestSocket(`ws://127.0.0.1:${sim.port}/elsewhere`));
    await waitFor(() => socket.closed, 3000, "rejection");
    expect(socket.unexpectedStatus).toBe(404);
  });
});
