import { afterEach, describe, expect, it } from "vitest";
import { type NaiveClient, startNaiveClient } from "../../../bench/baseline/naive-client.ts";
import type { NotificationEnvelope } from "../../../shared/contracts.ts";
import { receivedRef, type Simulator, startSimulator } from "../../../sim/index.ts";
import { waitFor } from "../../support/wait-for.ts";

let sim: Simulator | undefined;
let client: NaiveClient | undefined;

afterEach(async () => {
  await client?.stop();
  await sim?.close();
  client = undefined;
  sim = undefined;
});

describe("naive baseline client", () => {
  it("receives events, reconnects after each close with a fresh token, and misses what was raised meanwhile", async () => {
    sim = await startSimulator({ tokenLifetimeSec: 1, heartbeatIntervalMs: 200, seed: 7 });
    const received: NotificationEnvelope[] = [];
    client = startNaiveClient({
      loginUrl: sim.loginUrl,
      apiUrl: sim.apiUrl,
      clientId: "sim-client",
      clientSecret: "sim-secret",
      topics: ["v2.users.a.presence", "v2.users.b.presence"],
      reconnectDelayMs: 300,
      onEvent: (event) => received.push(event),
    });
    await client.ready;
    // Upstream raises events whether or not anyone listens: publish on a timer, not through the generator
    // (which only emits for subscribed topics).
    const source = sim;
    const publisher = setInterval(() => {
      source.publish("v2.users.a.presence");
      source.publish("v2.users.b.presence");
    }, 5);
    const current = client;
    try {
      await waitFor(() => current.stats().connects >= 3, 10_000, "three connections");
    } finally {
      clearInterval(publisher);
    }
    await waitFor(() => current.live(), 5_000, "a live socket");

    const stats = client.stats();
    expect(stats.closes).toBeGreaterThanOrEqual(2);
    expect(sim.counters.tokenRequests).toBeGreaterThanOrEqual(3);
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((event) => event.topicName.startsWith("v2.users."))).toBe(true);
    const missing = sim.ledger.missingFrom(received.map((event) => receivedRef(event)));
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.length + received.length).toBe(sim.ledger.total());
  });
});
