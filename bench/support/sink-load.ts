/** What the sink benchmark feeds the sink, and the overload run its child process performs. */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { QueuedEventMessage } from "../../shared/contracts.ts";
import { sampleRss } from "../../tools/bench/process-stats.ts";
import { eventMessage } from "../../worker/core/message.ts";
import { DEFAULT_INFLIGHT_MAX, DEFAULT_INFLIGHT_MIN } from "../../worker/sink/inflight-controller.ts";
import { sinkSqsClient } from "../../worker/sink/sqs-client.ts";
import { type SinkMetrics, SqsSink } from "../../worker/sink/sqs-sink.ts";

/** A realistic small notification (a presence change), with a unique key per event. */
export function benchEvent(topic: string, i: number): QueuedEventMessage {
  const env = {
    topicName: topic,
    version: "2",
    eventBody: {
      id: `user-${i % 997}`,
      presenceDefinition: { id: "6a3af858", systemPresence: "Available" },
      i,
    },
    metadata: { CorrelationId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` },
  };
  return eventMessage(env, `${topic}#${i}`, Date.now());
}

/** An SQS client as the worker builds it (worker/sink/sqs-client.ts). */
export function benchSqsClient(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region: string,
): SQSClient {
  return sinkSqsClient({ endpoint, region, credentials }, DEFAULT_INFLIGHT_MAX);
}

/** A sink with the worker's default in-flight bounds. */
export function benchSink(sqs: SQSClient, queueUrl: string, dir: string, metrics?: SinkMetrics): SqsSink {
  return new SqsSink({
    sqs,
    queueUrl,
    spoolDir: mkdtempSync(join(dir, "spool-")),
    inFlight: { min: DEFAULT_INFLIGHT_MIN, max: DEFAULT_INFLIGHT_MAX },
    ...(metrics ? { metrics } : {}),
  });
}

export interface OverloadSpec {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  queueUrl: string;
  dir: string;
  topics: string[];
  inputPerSec: number;
  durationMs: number;
}

export interface OverloadResult {
  peakRssMb: number;
  backlogMessages: number;
  submitted: number;
  drained: boolean;
}

/** Submits `inputPerSec` for `durationMs`, then drains; peak RSS of this process throughout. */
export async function runOverload(spec: OverloadSpec): Promise<OverloadResult> {
  const sqs = benchSqsClient(spec.endpoint, spec.credentials, spec.region);
  const sink = benchSink(sqs, spec.queueUrl, spec.dir);
  const rss = sampleRss(process.pid);
  let submitted = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.floor((spec.inputPerSec * Math.min(elapsed, spec.durationMs)) / 1000);
      while (submitted < due) {
        sink.submit(benchEvent(spec.topics[submitted % spec.topics.length]!, submitted));
        submitted++;
      }
      if (elapsed >= spec.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  const backlogMessages = sink.spoolBacklog().messages;
  const { drained } = await sink.drain(Date.now() + 600_000);
  rss.stop();
  await sink.close();
  sqs.destroy();
  return { peakRssMb: rss.peak(), backlogMessages, submitted, drained };
}
