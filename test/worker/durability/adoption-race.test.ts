/**
 * Adopting the backlog of a task that died (S3 + the DynamoDB claim on moto, SQS on fauxqs): exactly one
 * task adopts it, every orphaned event reaches the queue once, in order per topic, and the orphan's copy
 * is deleted.
 */
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterEach, describe, expect, it } from "vitest";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import type { BacklogStore } from "../../../worker/backlog/backlog-store.ts";
import { S3BacklogStore } from "../../../worker/backlog/s3-backlog-store.ts";
import { DynamoDbCoverageStore } from "../../../worker/coverage/dynamodb-coverage-store.ts";
import { COVERAGE_RETENTION_MS } from "../../../worker/durability.ts";
import { waitFor } from "../../support/wait-for.ts";
import { createDurableResources, type DurableResources } from "./durable-env.ts";
import { startDurableTask } from "./durable-task.ts";

let fauxqs: FauxqsServer | undefined;
let durable: DurableResources | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await fauxqs?.stop();
  durable?.destroy();
  fauxqs = durable = undefined;
});

const TOPICS = ["t.alpha", "t.beta"];

function orphanEvent(i: number): QueuedEventMessage {
  const topicName = TOPICS[i % 2]!;
  return {
    kind: "event",
    key: `orphan-${String(i).padStart(4, "0")}`,
    receivedAt: new Date(1_700_000_000_000 + i).toISOString(),
    event: { topicName, version: "2", eventBody: { n: i }, metadata: { CorrelationId: `c-${i}` } },
  };
}

async function setup() {
  durable = await createDurableResources();
  const d = durable;
  fauxqs = await startFauxqs({ port: 0, logger: false });
  const { queueUrl } = fauxqs.createQueue("events.fifo", { attributes: { FifoQueue: "true" } });
  const store = new S3BacklogStore({ s3: d.s3, bucket: d.bucket, prefix: `backlog/${d.scope}` });
  const coverage = new DynamoDbCoverageStore({
    client: d.dynamodb,
    tableName: d.table,
    scope: d.scope,
    retentionMs: COVERAGE_RETENTION_MS,
  });
  /** A task that died a minute ago leaving `segments` segments of `perSegment` events each. */
  const orphan = async (segments: number, perSegment: number): Promise<number> => {
    for (let seg = 0; seg < segments; seg++) {
      const lines = Array.from({ length: perSegment }, (_, j) =>
        JSON.stringify(orphanEvent(seg * perSegment + j)),
      );
      await store.put(
        "dead-task",
        `spool-${String(1_000_000_000_000 + seg).padStart(16, "0")}.jsonl`,
        Buffer.from(`${lines.join("\n")}\n`),
      );
    }
    const deadAt = Date.now() - 60_000;
    await coverage.putTask({ taskId: "dead-task", startedAtMs: deadAt - 60_000, heartbeatAtMs: deadAt });
    return segments * perSegment;
  };
  const events = (): QueuedEventMessage[] => {
    const q = fauxqs?.inspectQueue("events.fifo");
    const all = [...(q?.messages.ready ?? [])];
    all.sort((a, b) => (BigInt(a.sequenceNumber ?? "0") < BigInt(b.sequenceNumber ?? "0") ? -1 : 1));
    return all
      .map((m) => JSON.parse(m.body) as QueuedMessage)
      .filter((m): m is QueuedEventMessage => m.kind === "event");
  };
  const start = async (taskId: string, adopted: Map<string, number>, backlogStore?: BacklogStore) => {
    const stop = await startDurableTask(d, fauxqs!.address, queueUrl, taskId, {
      ...(backlogStore ? { backlogStore } : {}),
      count: (name, n) => {
        if (name === "BacklogAdopted") adopted.set(taskId, (adopted.get(taskId) ?? 0) + n);
      },
    });
    cleanups.push(stop);
  };
  return { d, store, orphan, events, start };
}

/** Each event once, in order per topic. */
function expectOnceInOrder(events: QueuedEventMessage[], total: number): void {
  const keys = events.map((e) => e.key);
  expect(keys).toHaveLength(total);
  expect(new Set(keys).size).toBe(total);
  for (const topic of TOPICS) {
    const n = events
      .filter((e) => e.event.topicName === topic)
      .map((e) => (e.event.eventBody as { n: number }).n);
    expect(n).toEqual([...n].sort((a, b) => a - b));
  }
}

describe("adopting an orphaned backlog", () => {
  it("two tasks racing: one adopts, each event is delivered once, in order per topic", async () => {
    const { store, orphan, events, start } = await setup();
    const total = await orphan(3, 100);
    const adopted = new Map<string, number>();
    await Promise.all([start("racer-1", adopted), start("racer-2", adopted)]);

    await waitFor(() => events().length >= total, 20_000, "every orphaned event in the queue");
    await new Promise((r) => setTimeout(r, 1_000)); // a second adoption would show now
    expectOnceInOrder(events(), total);
    expect([...adopted.values()]).toEqual([total]);
    expect(await store.list("dead-task")).toEqual([]);
  });

  it("a running task that delivers adopted segments before it can store them still adopts them all", async () => {
    const { d, store, orphan, events, start } = await setup();
    // This task's uploads are slow: a segment it adopts is delivered (and deleted from its spool) before
    // its own copy is stored. Delivered counts as done; before, it re-adopted the first segment for ever.
    const slowStore: BacklogStore = {
      put: async (owner, name, body) => {
        await new Promise((r) => setTimeout(r, 400));
        await store.put(owner, name, body);
      },
      get: (owner, name) => store.get(owner, name),
      delete: (owner, name) => store.delete(owner, name),
      list: (owner) => store.list(owner),
      owners: () => store.owners(),
    };
    const adopted = new Map<string, number>();
    await start("runner", adopted, slowStore);
    // Past the start-up hold (stale limit + 2 heartbeats = 1.5 s): the sink is sending when the orphan appears.
    await new Promise((r) => setTimeout(r, 2_000));
    const total = await orphan(4, 20);

    await waitFor(
      async () => events().length >= total && (await store.list("dead-task")).length === 0,
      20_000,
      `every orphaned event in the queue and the orphan's copy deleted (${d.scope})`,
    );
    await new Promise((r) => setTimeout(r, 1_000)); // a re-adoption would show now
    expectOnceInOrder(events(), total);
    expect(adopted.get("runner")).toBe(total);
  });
});
