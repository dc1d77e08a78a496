/**
 * Hand-off between the sink's memory and its spool. Once anything is spilled, everything newer is spilled
 * behind it until the reader has caught up, so the spool drains in order; refilling moves spooled lines back
 * into memory while there is room (and SQS works, or memory is empty: a probe). `persist` writes entries
 * taken out of memory back in front of the spool (close, or eviction while SQS fails).
 */
import type { QueuedMessage } from "../../shared/contracts.ts";
import { type Entry, type EntryBuffer, MAX_BATCH_ENTRIES } from "./entry-buffer.ts";
import { parseSpooled } from "./message-check.ts";
import { errorCode } from "./send-errors.ts";
import type { SinkLogger } from "./sink-ports.ts";
import { Spool, type SpoolOptions } from "./spool.ts";

const REFILL_STEP = 64;

export class SpoolHandoff {
  readonly spool: Spool;
  #spilling: boolean;

  constructor(
    dir: string,
    options: SpoolOptions,
    private readonly log: SinkLogger,
  ) {
    this.spool = new Spool(dir, options);
    this.#spilling = this.spool.unread() > 0;
    if (this.#spilling) {
      log.info("replaying spool left by a previous run", {
        code: "spool_replay",
        entries: this.spool.unread(),
      });
    }
  }

  spilling(): boolean {
    return this.#spilling;
  }

  unread(): number {
    return this.spool.unread();
  }

  /** Appends one message body; false (logged) if the disk refused it, so the caller keeps it in memory. */
  spill(body: string, receivedAtMs: number, reason: string, quiet: boolean): boolean {
    try {
      this.spool.append(body, receivedAtMs);
    } catch (err) {
      this.log.error("spool write failed; keeping the message in memory", {
        code: "spool_write_failed",
        error: errorCode(err),
      });
      return false;
    }
    if (!this.#spilling && !quiet) this.log.warn("spilling to the spool", { code: "spool_spill", reason });
    this.#spilling = true;
    return true;
  }

  /** Spooled lines become entries in `buffer` while it has room; unreadable lines go to `onInvalid`. */
  refill(
    buffer: EntryBuffer,
    failing: boolean,
    makeEntry: (msg: QueuedMessage, segment: number, line: string) => Entry,
    onInvalid: (line: string) => void,
  ): void {
    if (this.spool.unread() === 0) {
      this.#caughtUp();
      return;
    }
    if (failing && buffer.count() > 0) return;
    // While SQS fails, one batch is enough to probe it. Otherwise a few lines at a time, so the byte bound
    // is checked as they come (the spool reads ahead on its own).
    let budget = failing ? MAX_BATCH_ENTRIES : Number.POSITIVE_INFINITY;
    while (!buffer.full() && this.spool.unread() > 0 && budget > 0) {
      const lines = this.spool.read(Math.min(REFILL_STEP, buffer.room(), budget));
      budget -= lines.length;
      if (lines.length === 0) break;
      for (const { line, segment } of lines) {
        const msg = parseSpooled(line);
        if (!msg) {
          onInvalid(line);
          this.spool.settle(segment);
          continue;
        }
        buffer.add(makeEntry(msg, segment, line));
      }
    }
    if (this.spool.unread() === 0) this.#caughtUp();
  }

  settle(segment: number | undefined): void {
    if (segment !== undefined) this.spool.settle(segment);
  }

  /** Writes `entries` (oldest first) in front of the spool; true when done (they may leave memory). */
  persist(entries: readonly Entry[]): boolean {
    if (entries.length === 0) return true;
    let oldest = Number.POSITIVE_INFINITY;
    for (const e of entries) oldest = Math.min(oldest, e.submittedAtMs);
    try {
      this.spool.persistHead(
        entries.map((e) => e.sqs.fields.MessageBody),
        oldest,
      );
      this.#spilling = this.spool.unread() > 0;
      return true;
    } catch (err) {
      this.log.error("could not persist undelivered messages to the spool", {
        code: "spool_write_failed",
        error: errorCode(err),
        entries: entries.length,
      });
      return false;
    }
  }

  /** Whatever is in the spool is read next (adopted segments were inserted in front). */
  markSpilling(): void {
    if (this.spool.unread() > 0) this.#spilling = true;
  }

  close(): void {
    this.spool.close();
  }

  #caughtUp(): void {
    if (this.#spilling) {
      this.spool.sealTail();
      this.#spilling = false;
    }
  }
}
