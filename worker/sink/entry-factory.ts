/** Turns queued messages into sink entries: SQS fields and size, lane, sequence; splits oversized gaps. */
import type { QueuedGapMessage, QueuedMessage } from "../../shared/contracts.ts";
import { messageBody, toSqsEntry } from "../core/message.ts";
import type { Entry } from "./entry-buffer.ts";

export class EntryFactory {
  #seq = 0;
  #laneRobin = 0;

  constructor(
    private readonly fifo: boolean,
    private readonly lanes: number,
    private readonly maxMessageBytes: number,
    private readonly now: () => number,
  ) {}

  make(msg: QueuedMessage, segment: number | undefined, body?: string): Entry {
    const seq = this.#seq++;
    const sqs = toSqsEntry(msg, { id: "0", fifo: this.fifo, body: body ?? messageBody(msg) });
    const laneKey = this.fifo ? sqs.fields.MessageGroupId! : `lane-${this.#laneRobin++ % this.lanes}`;
    return {
      seq,
      kind: msg.kind,
      sqs,
      laneKey,
      submittedAtMs: this.now(),
      oversized: sqs.sizeBytes > this.maxMessageBytes,
      solo: false,
      segment,
    };
  }

  /** A gap message too large for SQS becomes several, each listing a share of the topics. */
  fitGap(msg: QueuedMessage): QueuedMessage[] {
    if (msg.kind !== "gap" || msg.topics.length < 2) return [msg];
    const size = toSqsEntry(msg, { id: "0", fifo: this.fifo }).sizeBytes;
    if (size <= this.maxMessageBytes) return [msg];
    const half = Math.ceil(msg.topics.length / 2);
    const part = (topics: string[]): QueuedGapMessage => ({ ...msg, topics });
    return [...this.fitGap(part(msg.topics.slice(0, half))), ...this.fitGap(part(msg.topics.slice(half)))];
  }
}
