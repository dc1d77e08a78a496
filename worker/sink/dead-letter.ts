/**
 * The dead-letter path of the sink: a message SQS can never accept is logged (code, key, topic, never the
 * body), counted, appended whole to `dead-letter.jsonl` in the spool directory for an operator, and
 * handed to `onDeadLetter`. Nothing rejected is lost silently.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { QueuedMessage } from "../../shared/contracts.ts";
import { messageBody } from "../core/message.ts";
import { errorCode } from "./send-errors.ts";
import type { DeadLetterEntry, DeadLetterError, SinkLogger, SinkMetrics } from "./sink-ports.ts";

export const DEAD_LETTER_FILE = "dead-letter.jsonl";

export class DeadLetterPath {
  constructor(
    private readonly dir: string,
    private readonly log: SinkLogger,
    private readonly metrics: SinkMetrics,
    private readonly now: () => number,
    private readonly onDeadLetter?: (entry: DeadLetterEntry, error: DeadLetterError) => void,
  ) {}

  message(msg: QueuedMessage, sizeBytes: number, error: DeadLetterError): void {
    this.metrics.count("DeadLettered");
    const m = (msg ?? {}) as unknown as Partial<Record<string, unknown>>;
    const event = m.event as { topicName?: unknown } | undefined;
    this.log.error("message routed to the dead-letter path", {
      code: error.code,
      kind: m.kind,
      key: m.key,
      topic: event?.topicName ?? m.topicName,
      sizeBytes,
      reason: error.message,
    });
    let body: string;
    try {
      body = messageBody(msg);
    } catch {
      body = JSON.stringify({ unserializable: true, kind: String(m.kind) });
    }
    this.raw(body, error);
    try {
      this.onDeadLetter?.({ message: msg, sizeBytes }, error);
    } catch (err) {
      this.log.error("onDeadLetter callback threw", {
        code: "dead_letter_callback_failed",
        error: errorCode(err),
      });
    }
  }

  /** The dead-letter file keeps the whole message for an operator. */
  raw(body: string, error: DeadLetterError): void {
    try {
      appendFileSync(
        join(this.dir, DEAD_LETTER_FILE),
        `{"at":${JSON.stringify(new Date(this.now()).toISOString())},"code":${JSON.stringify(error.code)},"message":${body}}\n`,
      );
    } catch (err) {
      this.log.error("could not write the dead-letter file", {
        code: "dead_letter_write_failed",
        error: errorCode(err),
      });
    }
  }
}
