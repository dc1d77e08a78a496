import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface QueueConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Every message body is appended here as one JSON line (the file is truncated at start). */
  jsonlPath: string;
  /** Parallel receive loops. */
  lanes?: number;
  /** Long-poll wait per receive, seconds. */
  waitTimeSeconds?: number;
}

export interface QueueConsumer {
  /** Messages received, written and deleted so far. */
  consumed(): number;
  /** Receive errors so far (logged by the caller, retried here). */
  errors(): number;
  /**
   * Keeps receiving until `isDrained()` holds and a receive comes back empty, then stops all lanes.
   * Call after the producer stopped.
   */
  drain(isDrained: () => boolean, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** A consumer like the one a user would run: receive, persist (JSONL), delete. */
export function startQueueConsumer(options: QueueConsumerOptions): QueueConsumer {
  mkdirSync(dirname(options.jsonlPath), { recursive: true });
  writeFileSync(options.jsonlPath, "");
  let consumed = 0;
  let errors = 0;
  let stopped = false;
  let lastEmptyAt = 0;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;

  const lane = async () => {
    while (!stopped) {
      try {
        const { Messages = [] } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: waitTimeSeconds,
          }),
        );
        if (Messages.length === 0) {
          lastEmptyAt = Date.now();
          continue;
        }
        appendFileSync(options.jsonlPath, Messages.map((message) => `${message.Body ?? ""}\n`).join(""));
        consumed += Messages.length;
        await options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: Messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle as string,
            })),
          }),
        );
      } catch {
        errors += 1;
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  const lanes = Array.from({ length: options.lanes ?? 2 }, () => lane());

  const stop = async () => {
    stopped = true;
    await Promise.all(lanes);
  };
  return {
    consumed: () => consumed,
    errors: () => errors,
    async drain(isDrained, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let drainedSince = 0;
      while (Date.now() < deadline) {
        if (isDrained()) {
          drainedSince ||= Date.now();
          // One full empty long-poll after the queue looked empty: nothing is left in flight.
          if (lastEmptyAt > drainedSince) break;
        } else {
          drainedSince = 0;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await stop();
    },
    stop,
  };
}
