/**
 * The dead-letter path of the sink, for a message SQS can never accept (too large with no offload bucket,
 * refused as invalid, unreadable on the spool): counted (`DeadLettered`), logged (code, key, topic, never
 * the body), sent as a DeadLetterRecord to the durable dead-letter queue when one is configured, and handed
 * to `onDeadLetter`. Only when there is no queue, or the queue refuses the record, is the whole message
 * appended to `dead-letter.jsonl` in the spool directory: a last resort, since a task's disk may not outlive it.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { QueuedMessage } from "../../shared/contracts.ts";
import { messageBody } from "../core/message.ts";
import type { DeadLetterQueue } from "./dead-letter-queue.ts";
import { deadLetterMessage, identityOf, type Undelivered } from "./dead-letter-record.ts";
import { errorCode } from "./send-errors.ts";
import type { DeadLetterEntry, DeadLetterError, SinkLogger, SinkMetrics } from "./sink-ports.ts";

export const DEAD_LETTER_FILE = "dead-letter.jsonl";

export interface DeadLetterPathOptions {
  /** Where the last-resort file goes (the spool directory). */
  dir: string;
  log: SinkLogger;
  metrics: SinkMetrics;
  now: () => number;
  /** The durable destination; without it, the local file only. */
  queue?: DeadLetterQueue;
  /** Largest record the queue accepts (its MaximumMessageSize). */
  maxRecordBytes: number;
  onDeadLetter?: (entry: DeadLetterEntry, error: DeadLetterError) => void;
}

export class DeadLetterPath {
  /** Records being sent, and whether each is already in the local file. */
  readonly #pending = new Map<
    Promise<void>,
    { filed: boolean; body: () => string; error: DeadLetterError }
  >();

  constructor(private readonly o: DeadLetterPathOptions) {}

  message(msg: QueuedMessage, sizeBytes: number, error: DeadLetterError): void {
    this.o.metrics.count("DeadLettered");
    const identity = identityOf(msg);
    this.o.log.error("message routed to the dead-letter path", {
      code: error.code,
      kind: identity.messageKind,
      key: identity.key,
      topic: identity.topicName,
      correlationId: identity.correlationId,
      sizeBytes,
      reason: error.message,
      ...(this.o.queue ? { deadLetterQueue: this.o.queue.queueUrl } : { deadLetterFile: DEAD_LETTER_FILE }),
    });
    this.#keep({ message: msg, sizeBytes }, error, () => wholeBody(msg));
    try {
      this.o.onDeadLetter?.({ message: msg, sizeBytes }, error);
    } catch (err) {
      this.o.log.error("onDeadLetter callback threw", {
        code: "dead_letter_callback_failed",
        error: errorCode(err),
      });
    }
  }

  /** A spool line that is not a queued message. */
  line(line: string, error: DeadLetterError): void {
    this.o.metrics.count("DeadLettered");
    this.o.log.error("unreadable spool line dead-lettered", {
      code: error.code,
      sizeBytes: Buffer.byteLength(line, "utf8"),
    });
    this.#keep({ line }, error, () => JSON.stringify(line));
  }

  /** Resolves when every record handed to the queue is sent or filed, or at `deadlineMs`. */
  async settled(deadlineMs = Number.POSITIVE_INFINITY): Promise<void> {
    while (this.#pending.size > 0) {
      const waitMs = deadlineMs - this.o.now();
      if (waitMs <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      const timeout = Number.isFinite(waitMs)
        ? new Promise<void>((resolve) => {
            timer = setTimeout(resolve, waitMs);
          })
        : new Promise<void>(() => {});
      await Promise.race([Promise.allSettled([...this.#pending.keys()]), timeout]);
      clearTimeout(timer);
    }
  }

  /**
   * Waits up to `graceMs` for records still being sent, then writes those to the local file (the task is
   * stopping; a record that still reaches the queue later is then in both places, never in neither).
   */
  async close(graceMs: number): Promise<void> {
    await this.settled(this.o.now() + graceMs);
    for (const keep of this.#pending.values()) {
      if (keep.filed) continue;
      keep.filed = true;
      this.o.log.warn("dead-letter record still being sent at close; kept in the local file too", {
        code: "dead_letter_pending_at_close",
        reason: keep.error.code,
      });
      this.#file(keep.body(), keep.error);
    }
  }

  #keep(undelivered: Undelivered, error: DeadLetterError, body: () => string): void {
    const queue = this.o.queue;
    if (!queue) {
      this.#file(body(), error);
      return;
    }
    const record = deadLetterMessage(undelivered, error, this.o.now(), this.o.maxRecordBytes);
    const keep = { filed: false, body, error };
    const sending = queue.send(record).then(
      () =>
        this.o.log.info("dead-letter record sent", {
          code: "dead_letter_recorded",
          reason: error.code,
          key: record.record.key,
          truncated: record.record.truncated,
        }),
      (err: unknown) => {
        this.o.log.error("dead-letter queue failed; the message is kept in the local dead-letter file only", {
          code: "dead_letter_queue_failed",
          error: errorCode((err as Error).cause ?? err),
          key: record.record.key,
        });
        if (keep.filed) return;
        keep.filed = true;
        this.#file(body(), error);
      },
    );
    this.#pending.set(sending, keep);
    void sending.finally(() => this.#pending.delete(sending));
  }

  /** The last-resort file keeps the whole message for an operator. */
  #file(body: string, error: DeadLetterError): void {
    try {
      appendFileSync(
        join(this.o.dir, DEAD_LETTER_FILE),
        `{"at":${JSON.stringify(new Date(this.o.now()).toISOString())},"code":${JSON.stringify(error.code)},"message":${body}}\n`,
      );
    } catch (err) {
      this.o.log.error("could not write the dead-letter file", {
        code: "dead_letter_write_failed",
        error: errorCode(err),
      });
    }
  }
}

function wholeBody(msg: QueuedMessage): string {
  try {
    return messageBody(msg);
  } catch {
    return JSON.stringify({ unserializable: true, kind: String((msg as { kind?: unknown })?.kind) });
  }
}
