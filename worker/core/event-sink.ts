import type { QueuedMessage } from "../../shared/contracts.ts";

/** Where the worker hands every distinct event and gap message. Implemented by worker/sink/sqs-sink.ts. */
export interface EventSink {
  /** Accepts the message for delivery. Never throws, never drops (buffers, spools or dead-letters loudly). */
  submit(msg: QueuedMessage): void;
  /** Messages accepted but not yet acknowledged by the queue (memory + spool + in flight). */
  depth(): number;
  /** Delivers everything accepted so far, or gives up at `deadlineMs` (epoch ms) with the count left. */
  drain(deadlineMs: number): Promise<{ drained: boolean; remaining: number }>;
  /** False while the queue is unreachable (messages are being spooled) or after close(). */
  healthy(): boolean;
  /** Stops background work; whatever is undelivered stays in the spool for the next start. */
  close(): Promise<void>;
}
