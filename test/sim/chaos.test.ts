import { afterEach, describe, expect, it } from "vitest";
import { CHAOS_FAULT_KINDS, ChaosPlan, type Simulator, startSimulator } from "../../sim/index.ts";
import { createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

describe("chaos plan (pure)", () => {
  it("is reproducible by seed and different across seeds", () => {
    const a = ChaosPlan.preview({ seed: 42 }, 50);
    expect(ChaosPlan.preview({ seed: 42 }, 50)).toEqual(a);
    expect(ChaosPlan.preview({ seed: 43 }, 50)).not.toEqual(a);
  });

  it("every kind once per cycle, times increasing with gaps of 0.5..1.5 x the mean", () => {
    const n = CHAOS_FAULT_KINDS.length;
    const plan = ChaosPlan.preview({ seed: 7, meanIntervalMs: 1000 }, 2 * n);
    for (const cycle of [plan.slice(0, n), plan.slice(n)]) {
      expect(new Set(cycle.map((f) => f.kind)).size).toBe(n);
    }
    let previous = 0;
    for (const fault of plan) {
      expect(fault.atMs - previous).toBeGreaterThanOrEqual(500);
      expect(fault.atMs - previous).toBeLessThanOrEqual(1500);
      previous = fault.atMs;
    }
  });

  it("refuses bad options", () => {
    expect(() => new ChaosPlan({ seed: 1.5 })).toThrow(/seed/);
    expect(() => new ChaosPlan({ seed: 1, kinds: [] })).toThrow(/at least one/);
    expect(() => new ChaosPlan({ seed: 1, kinds: ["nope" as "drop"] })).toThrow(/unknown/);
    expect(() => new ChaosPlan({ seed: 1, meanIntervalMs: 0 })).toThrow(/meanIntervalMs/);
  });
});

describe("chaos schedule against a live client", () => {
  let sim: Simulator;
  const sockets: TestSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await sim?.close();
  });

  /** A crude client: one channel socket at a time, replaced when it closes and at least every 800 ms. */
  async function keepConnected(stop: () => boolean) {
    while (!stop()) {
      try {
        const token = await getToken(sim);
        const channel = await createChannel(sim, token);
        await subscribe(sim, token, channel.id, ["t.a", "t.b"]);
        const socket = await TestSocket.open(channel.connectUri);
        sockets.push(socket);
        const until = Date.now() + 800;
        await waitFor(() => socket.closed || stop() || Date.now() > until, 60_000, "socket end");
        socket.terminate();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  it("fires every kind of fault, counts what took effect, and stops cleanly", async () => {
    sim = await startSimulator({
      topics: ["t.a", "t.b"],
      eventRatePerSec: 50,
      heartbeatIntervalMs: 100,
      socketClosingGraceMs: 200,
      largeEventSizes: [64 * 1024],
      identicalDelayMinMs: 50,
      identicalDelayMaxMs: 100,
      maxChannelsPerClient: 4,
      chaos: { seed: 99, meanIntervalMs: 100, windowMs: 150, maxLagMs: 200, maxSlowTokenMs: 200 },
    });
    expect(sim.chaos?.seed).toBe(99);
    let done = false;
    const clients = Array.from({ length: 4 }, () => keepConnected(() => done));
    const everyKindTwice = () => CHAOS_FAULT_KINDS.every((kind) => (sim.chaos!.counts[kind] ?? 0) >= 2);
    await waitFor(everyKindTwice, 25_000, "every fault kind twice");
    done = true;
    sim.chaos!.stop();
    await Promise.all(clients);
    expect(sim.counters.socketClosingSent).toBeGreaterThanOrEqual(4);
    expect(sim.counters.drops).toBeGreaterThanOrEqual(2);
    expect(sim.counters.halfOpens).toBeGreaterThanOrEqual(2);
    expect(sim.counters.channelsEvicted).toBeGreaterThanOrEqual(2);
    expect(sim.counters.tokensRevoked).toBeGreaterThanOrEqual(2);
    expect(sim.ledger.summary().identical).toBeGreaterThanOrEqual(1);
    expect(sim.chaos!.log.length).toBeGreaterThanOrEqual(2 * CHAOS_FAULT_KINDS.length);
    expect(sim.chaos!.log.every((entry) => !entry.detail.includes("access_token"))).toBe(true);
  }, 30_000);

  it("autoStart false waits for start(); fire() applies one fault on demand", async () => {
    sim = await startSimulator({ chaos: { seed: 1, meanIntervalMs: 10, autoStart: false } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sim.chaos!.log).toEqual([]);
    expect(sim.chaos!.fire("http429")).toBe(true);
    expect(
      sim.faults.oauth.pending + sim.faults.channelCreate.pending + sim.faults.subscriptions.pending,
    ).toBeGreaterThan(0);
    expect(sim.chaos!.fire("drop")).toBe(false); // nothing to drop
    expect(sim.chaos!.skipped.drop).toBe(1);
  });
});
