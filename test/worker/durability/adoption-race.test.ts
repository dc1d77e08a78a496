/**
 * Two new tasks race to adopt the same orphaned backlog (S3 + the DynamoDB claim on moto, SQS on fauxqs):
 * exactly one adopts it, and every orphaned event reaches the queue once, in order per topic.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterEach, describe, expect, it } from "vitest";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { S3BacklogStore } from "../../../worker/backlog/s3-backlog-store.ts";
import { DynamoDbCoverageStore } from "../../../worker/coverage/dynamodb-coverage-store.ts";
import { COVERAGE_RETENTION_MS, Durability } from "../../../worker/durability.ts";
import { SqsSink } from "../../../worker/sink/sqs-sink.ts";
import { waitFor } from "../../support/wait-for.ts";
import { createDurableResources, type DurableResources } from "./durable-env.ts";

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

describe("adopting an orphaned backlog", () => {
  it("two tasks racing: one adopts, each event is delivered once, in order per topic", async () => {
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
    // A task that died a minute ago leaving three segments of 100 events each.
    const total = 300;
    for (let seg = 0; seg < 3; seg++) {
      const lines = Array.from({ length: 100 }, (_, j) => JSON.stringify(orphanEvent(seg * 100 + j)));
      await store.put(
        "dead-task",
        `spool-${String(1_000_000_000_000 + seg).padStart(16, "0")}.jsonl`,
        Buffer.from(`${lines.join("\n")}\n`),
      );
    }
    const deadAt = Date.now() - 60_000;
    await coverage.putTask({ taskId: "dead-task", startedAtMs: deadAt - 60_000, heartbeatAtMs: deadAt });

    const adopted = new Map<string, number>();
    const racer = async (taskId: string) => {
      const spoolDir = mkdtempSync(join(tmpdir(), `tokenstream-${taskId}-`));
      const sqs = new SQSClient({
        endpoint: fauxqs!.address,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      });
      const durability = new Durability({
        config: {
          backlogBucket: d.bucket,
          coverageTable: d.table,
          scope: d.scope,
          taskId,
          heartbeatMs: 250,
          staleAfterMs: 1_000,
          flushIntervalMs: 50,
          maxBacklogBytes: 1024 ** 3,
          s3Endpoint: undefined,
          dynamodbEndpoint: undefined,
        },
        topics: TOPICS,
        spoolDir,
        region: "us-east-1",
        s3: d.s3,
        dynamodb: d.dynamodb,
        log: { debug() {}, info() {}, warn() {}, error() {} },
        metrics: {
          count: (name, n = 1) => {
            if (name === "BacklogAdopted") adopted.set(taskId, (adopted.get(taskId) ?? 0) + n);
          },
          gauge() {},
          timing() {},
        },
      });
      durability.observe({
        create() {
          throw new Error("no upstream sessions in this test");
        },
      });
      const sink = new SqsSink({ sqs, queueUrl, ...durability.sinkOptions() });
      await durability.start(sink);
      cleanups.push(async () => {
        await sink.close();
        await durability.stop();
        sqs.destroy();
        rmSync(spoolDir, { recursive: true, force: true });
      });
    };
    await Promise.all([racer("racer-1"), racer("racer-2")]);

    const events = (): QueuedEventMessage[] => {
      const q = fauxqs?.inspectQueue("events.fifo");
      const all = [...(q?.messages.ready ?? [])];
      all.sort((a, b) => (BigInt(a.sequenceNumber ?? "0") < BigInt(b.sequenceNumber ?? "0") ? -1 : 1));
      return all
        .map((m) => JSON.parse(m.body) as QueuedMessage)
        .filter((m): m is QueuedEventMessage => m.kind === "event");
    };
    await waitFor(() => events().length >= total, 20_000, "every orphaned event in the queue");
    await new Promise((r) => setTimeout(r, 1_000)); // a second adoption would show now
    const keys = events().map((e) => e.key);
    expect(keys).toHaveLength(total);
    expect(new Set(keys).size).toBe(total);
    for (const topic of TOPICS) {
      const n = events()
        .filter((e) => e.event.topicName === topic)
        .map((e) => (e.event.eventBody as { n: number }).n);
      expect(n).toEqual([...n].sort((a, b) => a - b));
    }
    expect([...adopted.values()]).toEqual([total]);
    expect(await store.list("dead-task")).toEqual([]);
  });
});
