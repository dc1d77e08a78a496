/**
 * The durable dead-letter destination: one SendMessage per record to a standard SQS queue, retried with
 * backoff (throttling, network, 5xx) for a bounded number of attempts. The caller keeps a local copy
 * when it finally fails.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetterSqsMessage } from "./dead-letter-record.ts";
import { errorCode } from "./send-errors.ts";
import { bodyMd5Matches, INVALID_CHECKSUM } from "./sqs-client.ts";

export interface DeadLetterQueueOptions {
  sqs: SQSClient;
  queueUrl: string;
  requestTimeoutMs: number;
  /** Attempts before giving up. Default 5. */
  attempts?: number;
  /** Delay before the second attempt, doubled for each next one. Default 200 ms (200, 400, 800, 1600). */
  retryBaseMs?: number;
}

/** Thrown when every attempt failed; `code` is the last SQS error code. */
export class DeadLetterQueueError extends Error {
  override readonly name = "DeadLetterQueueError";
  constructor(
    readonly code: string,
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(`dead-letter queue refused the record after ${attempts} attempts (${code})`, options);
  }
}

export class DeadLetterQueue {
  constructor(private readonly o: DeadLetterQueueOptions) {}

  get queueUrl(): string {
    return this.o.queueUrl;
  }

  async send(message: DeadLetterSqsMessage): Promise<void> {
    const attempts = Math.max(1, this.o.attempts ?? 5);
    let delayMs = this.o.retryBaseMs ?? 200;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const out = await this.o.sqs.send(
          new SendMessageCommand({
            QueueUrl: this.o.queueUrl,
            MessageBody: message.body,
            MessageAttributes: message.attributes,
          }),
          { abortSignal: AbortSignal.timeout(this.o.requestTimeoutMs) },
        );
        if (bodyMd5Matches(message.body, out.MD5OfMessageBody)) return;
        last = Object.assign(new Error("MD5OfMessageBody does not match the record sent"), {
          name: INVALID_CHECKSUM,
        });
      } catch (err) {
        last = err;
      }
      if (attempt < attempts) {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs *= 2;
      }
    }
    throw new DeadLetterQueueError(errorCode(last), attempts, { cause: last });
  }
}
