import { afterEach, describe, expect, it } from "vitest";
import { envelopeContentKey } from "../../sim/content-key.ts";
import { Ledger, receivedRef, type Simulator, startSimulator } from "../../sim/index.ts";
import { createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

describe("upstream truth is independent of subscribers", () => {
  it("the generator publishes on every configured topic while nobody is subscribed", async () => {
    sim = await startSimulator({ topics: ["v2.a", "v2.b"], eventRatePerSec: 200, generatorTickMs: 10 });
    await waitFor(
      () => sim.ledger.summary("v2.a").published >= 20 && sim.ledger.summary("v2.b").published >= 20,
    );
    expect(sim.subscribedTopics()).toEqual([]);
    expect(sim.upstreamTopics().sort()).toEqual(["v2.a", "v2.b"]);
    const entries = sim.ledger.published();
    expect(entries.every((e) => e.deliveredSockets === 0 && e.sockets.length === 0)).toBe(true);
    expect(sim.ledger.summary().delivered).toBe(0);
    expect(sim.counters.eventsUndelivered).toBe(entries.length);
  });

  it("after every channel dies (tokens expired) the topic keeps being published", async () => {
    sim = await startSimulator({ eventRatePerSec: 200, generatorTickMs: 10 });
    const token = await getToken(sim);
    const channel = await createChannel(sim, token);
    await subscribe(sim, token, channel.id, ["t"]);
    const socket = await TestSocket.open(channel.connectUri);
    sockets.push(socket);
    await waitFor(() => socket.events.length >= 10, 3000, "events flowing");
    sim.faults.expireAllTokens();
    await waitFor(() => socket.closed, 3000, "channel dead");
    expect(sim.subscribedTopics()).toEqual([]);
    const before = sim.ledger.summary("t");
    await waitFor(() => sim.ledger.summary("t").published >= before.published + 20, 3000, "still publishing");
    expect(sim.ledger.summary("t").delivered).toBe(before.delivered);
    // Exactly the events nobody could receive are the ones the client lacks.
    const missing = sim.ledger.missingFrom(socket.events.map(receivedRef));
    expect(missing.length).toBe(sim.ledger.summary("t").undelivered);
  });

  it("records for each event its publish time and the sockets it was written to", async () => {
    sim = await startSimulator();
    const token = await getToken(sim);
    const one = await createChannel(sim, token);
    const two = await createChannel(sim, token);
    await subscribe(sim, token, one.id, ["t"]);
    await subscribe(sim, token, two.id, ["t"]);
    sockets.push(await TestSocket.open(one.connectUri), await TestSocket.open(two.connectUri));
    const ids = sim.openSockets().map((s) => s.id);
    const before = Date.now();
    const both = sim.publish("t");
    sim.faults.dropSocket(one.id);
    const single = sim.publish("t");
    const [first, second] = sim.ledger.published("t");
    expect(first!.sockets.sort()).toEqual(ids.sort());
    expect(first!.publishedAt).toBeGreaterThanOrEqual(before);
    expect(first!.publishedAt).toBeLessThanOrEqual(Date.now());
    expect(both.deliveredSockets).toBe(2);
    expect(single.deliveredSockets).toBe(1);
    expect(second!.sockets).toEqual(ids.filter((id) => id.startsWith(two.id)));
    expect(first!.contentKey).toBe(envelopeContentKey(both.envelope));
  });
});

describe("Ledger content identity (unit)", () => {
  it("matches identical events as a multiset and keeps events without a CorrelationId apart by content", () => {
    const ledger = new Ledger("00000000-0000-4000-8000-");
    const a = ledger.record("t", 1);
    ledger.setContentKey(a.index, "00000000000000aa");
    const b = ledger.record("t", 2, { identical: true, correlationId: "x" });
    ledger.setContentKey(b.index, "00000000000000aa");
    const c = ledger.record("t", 3, { correlationId: null });
    ledger.setContentKey(c.index, "00000000000000cc");
    expect(ledger.correlationIdOf(c.index)).toBeUndefined();
    expect(ledger.summary()).toMatchObject({ published: 3, identical: 1 });
    const one = [{ topicName: "t", contentKey: "00000000000000aa" }];
    expect(ledger.missingFrom(one).map((e) => e.sequence)).toEqual([2, 3]);
    expect(ledger.missingFrom([...one, ...one]).map((e) => e.sequence)).toEqual([3]);
    expect(ledger.published().map((e) => e.identical)).toEqual([false, true, false]);
  });

  it("names the sockets an event was written to and forgets a retracted one", () => {
    const ledger = new Ledger("00000000-0000-4000-8000-");
    const s1 = ledger.registerSocket("ch1#1");
    const s2 = ledger.registerSocket("ch2#2");
    const s3 = ledger.registerSocket("gen#3");
    const { index } = ledger.record("t", 0);
    ledger.addDelivered(index, 3, [s1, s2, s3]);
    expect(ledger.published()[0]!.sockets).toEqual(["ch1#1", "ch2#2", "gen#3"]);
    ledger.retractDelivery(index, s1);
    expect(ledger.published()[0]).toMatchObject({ deliveredSockets: 2, sockets: ["ch2#2", "gen#3"] });
  });
});
