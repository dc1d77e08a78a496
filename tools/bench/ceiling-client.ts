/**
 * The SendMessageBatch ceiling client for bench/scenarios/throughput.ts, run as its own process and built
 * like the worker (tools/bench/bundle-worker.ts), so it is placed and run exactly as the end-to-end worker
 * is: sends CEILING_SPEC.count messages built from the sample bodies with the worker's own toSqsEntry
 * (same attributes, group ids; unique dedup ids), batches of 10, `inFlight` requests at once, first to a
 * warm-up queue (unmeasured: the worker it is compared with is warm too), then to the measured queue.
 * Prints `{"perSec": n}` on stdout.
 */
import { readFileSync } from "node:fs";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { QueuedEventMessage } from "../../shared/contracts.ts";
import { toSqsEntry } from "../../worker/core/message.ts";

export interface CeilingSpec {
  endpoint: string;
  warmUpQueueUrl: string;
  queueUrl: string;
  /** JSON array of message bodies taken from the end-to-end queue. */
  bodiesFile: string;
  count: number;
  inFlight: number;
}

async function send(sqs: SQSClient, queueUrl: string, spec: CeilingSpec, bodies: string[]): Promise<number> {
  const entries = Array.from({ length: spec.count }, (_, i) => {
    const message = JSON.parse(bodies[i % bodies.length] as string) as QueuedEventMessage;
    // A unique key (hence dedup id) per entry, the same length as an event key.
    message.key = `${queueUrl.length}-${Date.now()}-${i}`.padStart(64, "0");
    return toSqsEntry(message, { id: "0", fifo: true }).fields;
  });
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < spec.count) {
      const first = next;
      next += 10;
      const batch = entries.slice(first, first + 10).map((fields, i) => ({ ...fields, Id: String(i) }));
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }));
      if ((result.Failed ?? []).length > 0) throw new Error("ceiling: SendMessageBatch entries failed");
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: spec.inFlight }, lane));
  return spec.count / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.CEILING_SPEC ?? "{}") as CeilingSpec;
  const bodies = JSON.parse(readFileSync(spec.bodiesFile, "utf8")) as string[];
  if (bodies.length === 0) throw new Error("ceiling: no sample bodies");
  // Configured like the worker's client (worker/app.ts): region + endpoint, credentials from the environment.
  const sqs = new SQSClient({ region: process.env.AWS_REGION, endpoint: spec.endpoint });
  await send(sqs, spec.warmUpQueueUrl, spec, bodies);
  const perSec = await send(sqs, spec.queueUrl, spec, bodies);
  sqs.destroy();
  process.stdout.write(`${JSON.stringify({ perSec })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`ceiling client failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
