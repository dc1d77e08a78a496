import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { LatencyProxy } from "../../../tools/bench/latency-proxy.ts";
import { contentKey } from "../../../worker/core/content-identity.ts";
import { eventMessage } from "../../../worker/core/message.ts";
import { SqsSink } from "../../../worker/sink/sqs-sink.ts";
import { sqsClient } from "./helpers.ts";

let server: FauxqsServer;
let proxy: LatencyProxy;
let proxyUrl: string;
const dir = mkdtempSync(join(tmpdir(), "sink-latency-"));

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  // An in-region SQS round trip: 20 ms, with jitter so answers come back out of send order.
  proxy = new LatencyProxy({ target: `http://127.0.0.1:${server.port}`, delayMs: 20, jitterMs: 15 });
  proxyUrl = await proxy.start();
});

afterAll(async () => {
  await proxy.stop();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function ev(topic: string, i: number): QueuedEventMessage {
  const env = { topicName: topic, eventBody: { i }, metadata: { CorrelationId: `c-${topic}-${i}` } };
  return eventMessage(env, contentKey(env), Date.now());
}

describe("SqsSink through a 20 ms SQS", () => {
  it("keeps every topic's order with many batches in flight, and widens its window to use them", async () => {
    const { queueUrl } = server.createQueue("latency.fifo", { attributes: { FifoQueue: "true" } });
    const sink = new SqsSink({
      sqs: sqsClient(proxyUrl),
      queueUrl,
      spoolDir: dir,
      inFlight: { min: 2, max: 48 },
      requestTimeoutMs: 5_000,
    });
    const topics = Array.from({ length: 100 }, (_, t) => `v2.users.u${t}.presence`);
    const sent = new Map<string, number[]>();
    // 100 quiet topics and one hot topic, interleaved, submitted in waves as a socket would deliver them.
    for (let wave = 0; wave < 20; wave++) {
      for (let k = 0; k < 100; k++) {
        const topic = k % 4 === 0 ? "v2.hot" : topics[(wave * 7 + k) % 100]!;
        const i = (sent.get(topic) ?? []).length;
        sent.set(topic, [...(sent.get(topic) ?? []), i]);
        sink.submit(ev(topic, i));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await sink.drain(Date.now() + 60_000)).toEqual({ drained: true, remaining: 0 });
    expect(proxy.maxInFlight).toBeGreaterThan(8);
    expect(sink.inFlightLimit()).toBeGreaterThan(2);

    const landed = server.inspectQueue("latency.fifo")!.messages.ready.map((m) => ({
      group: m.messageGroupId,
      body: JSON.parse(m.body) as QueuedMessage,
    }));
    expect(landed).toHaveLength(2_000);
    const got = new Map<string, number[]>();
    for (const { group, body } of landed) {
      const e = body as QueuedEventMessage;
      expect(group).toBe(e.event.topicName);
      got.set(group!, [...(got.get(group!) ?? []), (e.event.eventBody as { i: number }).i]);
    }
    expect(got).toEqual(sent);
    await sink.close();
  });
});
