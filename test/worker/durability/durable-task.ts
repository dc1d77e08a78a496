/**
 * An in-process task of the durable tier for tests: Durability (S3 backlog + DynamoDB ledger on moto) and
 * an SqsSink to fauxqs, no upstream sessions. Compressed clocks: heartbeat 250 ms, stale after 1 s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { BacklogStore } from "../../../worker/backlog/backlog-store.ts";
import { Durability } from "../../../worker/durability.ts";
import { SqsSink } from "../../../worker/sink/sqs-sink.ts";
import type { CounterName } from "../../../worker/telemetry.ts";
import type { DurableResources } from "./durable-env.ts";

export interface DurableTaskOptions {
  /** Replaces the S3 backlog store (e.g. to slow it down). */
  backlogStore?: BacklogStore;
  count?: (name: CounterName, n: number) => void;
}

/** Starts the task; resolves with its stop function once the start-up adoption hold is over. */
export async function startDurableTask(
  d: DurableResources,
  sqsEndpoint: string,
  queueUrl: string,
  taskId: string,
  options: DurableTaskOptions = {},
): Promise<() => Promise<void>> {
  const spoolDir = mkdtempSync(join(tmpdir(), `tokenstream-${taskId}-`));
  const sqs = new SQSClient({
    endpoint: sqsEndpoint,
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
    topics: ["t.alpha", "t.beta"],
    spoolDir,
    region: "us-east-1",
    s3: d.s3,
    dynamodb: d.dynamodb,
    ...(options.backlogStore ? { backlogStore: options.backlogStore } : {}),
    log: { debug() {}, info() {}, warn() {}, error() {} },
    metrics: { count: (name, n = 1) => options.count?.(name, n), gauge() {}, timing() {} },
  });
  durability.observe({
    create() {
      throw new Error("no upstream sessions in this test");
    },
  });
  const sink = new SqsSink({ sqs, queueUrl, ...durability.sinkOptions() });
  await durability.start(sink);
  return async () => {
    await sink.close();
    await durability.stop();
    sqs.destroy();
    rmSync(spoolDir, { recursive: true, force: true });
  };
}
