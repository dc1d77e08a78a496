import { afterEach, describe, expect, it } from "vitest";
import { receivedRef, type Simulator, type SimulatorOptions, startSimulator } from "../../sim/index.ts";
import { createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

let sim: Simulator;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await sim?.close();
});

async function listen(topics: string[], token?: string) {
  const t = token ?? (await getToken(sim));
  const channel = await createChannel(sim, t);
  await subscribe(sim, t, channel.id, topics);
  const socket = await TestSocket.open(channel.connectUri);
  sockets.push(socket);
  return { token: t, channel, socket };
}

async function generate(options: SimulatorOptions, topics: string[], atLeast: number) {
  sim = await startSimulator({ generatorTickMs: 10, ...options });
  const listener = await listen(topics);
  sim.startGenerator(options.eventRatePerSec ?? 200);
  await waitFor(() => sim.ledger.total() >= atLeast, 5000, `${atLeast} events`);
  sim.stopGenerator();
  await waitFor(() => listener.socket.events.length >= sim.ledger.summary().delivered, 5000, "all received");
  return listener;
}

const cid = (e: { metadata?: { CorrelationId?: string } }) => e.metadata?.CorrelationId;

describe("CorrelationId models", () => {
  it("unique (default): every event its own id", async () => {
    const { socket } = await generate({}, ["a", "b"], 30);
    expect(new Set(socket.events.map(cid)).size).toBe(socket.events.length);
  });

  it("shared: one id for several events of one request, across topics and on one topic with different bodies", async () => {
    const { socket } = await generate(
      { correlationModel: "shared", correlationGroupSize: 4 },
      ["a", "b"],
      40,
    );
    const byId = new Map<string, typeof socket.events>();
    for (const event of socket.events) byId.set(cid(event)!, [...(byId.get(cid(event)!) ?? []), event]);
    const groups = [...byId.values()];
    expect(groups.some((g) => new Set(g.map((e) => e.topicName)).size === 2)).toBe(true);
    const sameTopic = groups.find((g) => g.filter((e) => e.topicName === "a").length >= 2);
    expect(sameTopic).toBeDefined();
    const bodies = sameTopic!.filter((e) => e.topicName === "a").map((e) => JSON.stringify(e.eventBody));
    expect(new Set(bodies).size).toBe(bodies.length);
    // Distinct events despite the shared id: the ledger tells them apart by content.
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef))).toEqual([]);
    expect(sim.ledger.missingFrom(socket.events.slice(1).map(receivedRef))).toHaveLength(1);
  });

  it("absent: no CorrelationId at all (as on generic streams)", async () => {
    const { socket } = await generate({ correlationModel: "absent" }, ["a"], 20);
    for (const event of socket.events) {
      expect(event.metadata).toEqual({});
    }
    expect(sim.ledger.published().every((e) => e.correlationId === undefined)).toBe(true);
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef))).toEqual([]);
  });

  it("mixed switches between the three and setCorrelationModel changes it at run time", async () => {
    const { socket } = await generate(
      { correlationModel: "mixed", correlationGroupSize: 3 },
      ["a", "b"],
      200,
    );
    const ids = socket.events.map(cid);
    expect(ids.some((id) => id === undefined)).toBe(true);
    const counts = new Map<string, number>();
    for (const id of ids) if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.values()].some((n) => n === 1)).toBe(true);
    expect([...counts.values()].some((n) => n === 3)).toBe(true);
    sim.setCorrelationModel("absent");
    const before = socket.events.length;
    sim.startGenerator(200);
    await waitFor(() => socket.events.length >= before + 20, 5000, "more events");
    sim.stopGenerator();
    // The group in progress may finish first; after that, none carries an id.
    expect(socket.events.slice(before + 10).every((e) => cid(e) === undefined)).toBe(true);
  });

  it("rejects an unknown model", async () => {
    await expect(startSimulator({ correlationModel: "nope" as "unique" })).rejects.toThrow(
      /correlationModel/,
    );
  });
});

describe("legitimately identical events", () => {
  it("back to back: the same frame twice, two ledger entries, each needs its own copy", async () => {
    const { socket } = await generate({ identicalShare: 1, identicalKinds: ["backToBack"] }, ["a"], 20);
    const frames = socket.events.map((e) => JSON.stringify(e));
    for (let i = 0; i < frames.length; i += 2) expect(frames[i + 1]).toBe(frames[i]);
    const summary = sim.ledger.summary();
    expect(summary.identical).toBe(summary.published / 2);
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef))).toEqual([]);
    // A receiver that de-duplicated by content has lost one event per pair.
    const deduped = [...new Map(frames.map((f, i) => [f, socket.events[i]!])).values()];
    expect(sim.ledger.missingFrom(deduped.map(receivedRef))).toHaveLength(summary.identical);
  });

  it("across a rotation: published when the next channel socket opens", async () => {
    sim = await startSimulator({
      identicalShare: 1,
      identicalKinds: ["acrossRotation"],
      generatorTickMs: 10,
    });
    const old = await listen(["a"]);
    sim.startGenerator(100);
    await waitFor(() => sim.ledger.total() >= 5, 3000, "events");
    sim.stopGenerator();
    const originals = sim.ledger.total();
    expect(sim.ledger.summary().identical).toBe(0);
    const next = await listen(["a"], old.token);
    await waitFor(() => sim.ledger.summary().identical === originals, 3000, "repeats at the rotation");
    await waitFor(() => next.socket.events.length === originals, 3000, "new socket got the repeats");
    await waitFor(() => old.socket.events.length === 2 * originals, 3000, "old socket got both");
    expect(next.socket.events.map((e) => JSON.stringify(e))).toEqual(
      old.socket.events.slice(0, originals).map((e) => JSON.stringify(e)),
    );
  });

  it("later: after the configured delay (1 to 6 minutes by default, compressible)", async () => {
    sim = await startSimulator({
      identicalShare: 1,
      identicalKinds: ["later"],
      identicalDelayMinMs: 300,
      identicalDelayMaxMs: 600,
    });
    const { socket } = await listen(["a"]);
    const original = sim.publish("a");
    // Manual publishes are never repeated; generated ones are: go through the generator once.
    expect(sim.ledger.summary().identical).toBe(0);
    sim.startGenerator(20);
    await waitFor(() => sim.ledger.total() >= 2, 3000, "a generated event");
    sim.stopGenerator();
    // A loaded machine may let the generator publish more than one event before it stops: pair the
    // repeat with its own original by content, not by position.
    await waitFor(() => sim.ledger.summary().identical >= 1, 3000, "the repeat");
    const repeat = sim.ledger.published().find((e) => e.identical)!;
    const generated = sim.ledger.published().find((e) => !e.identical && e.contentKey === repeat.contentKey);
    expect(generated).toBeDefined();
    expect(generated).not.toBe(original);
    expect(repeat.publishedAt - generated!.publishedAt).toBeGreaterThanOrEqual(300);
    expect(original.identical).toBe(false);
    await waitFor(() => socket.events.length === sim.ledger.total(), 3000, "all received");
    expect(sim.ledger.missingFrom(socket.events.map(receivedRef))).toEqual([]);
  });

  it("cancelPendingRepeats drops the repeats not published yet", async () => {
    sim = await startSimulator({
      identicalShare: 1,
      identicalKinds: ["later"],
      identicalDelayMinMs: 300,
      identicalDelayMaxMs: 400,
    });
    await listen(["a"]);
    sim.startGenerator(20);
    await waitFor(() => sim.ledger.total() >= 2, 3000, "generated events");
    sim.stopGenerator();
    sim.cancelPendingRepeats();
    const total = sim.ledger.total();
    await new Promise((r) => setTimeout(r, 600));
    expect(sim.ledger.total()).toBe(total);
    expect(sim.ledger.summary().identical).toBe(0);
  });

  it("publishIdentical repeats any published event on demand", async () => {
    sim = await startSimulator();
    const { socket } = await listen(["a"]);
    const first = sim.publish("a", { x: 1 }, { correlationId: null });
    const again = sim.publishIdentical(first);
    expect(again).toMatchObject({ identical: true, contentKey: first.contentKey, sequence: 2 });
    await waitFor(() => socket.events.length === 2, 3000, "both");
    expect(socket.events[1]).toEqual(socket.events[0]);
    expect(socket.events[0]).toEqual({ topicName: "a", version: "2", eventBody: { x: 1 }, metadata: {} });
  });
});
