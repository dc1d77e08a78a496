/**
 * What the sink holds and since when: the spool backlog (count, age), the oldest message SQS has not
 * acknowledged, and the time through which everything accepted is durable (acknowledged, or stored by the
 * durable tier). Reads only: the sink's memory buffer, its spool and the durable tier.
 */
import type { EntryBuffer } from "./entry-buffer.ts";
import type { DurableTier } from "./sink-options.ts";
import type { Spool } from "./spool.ts";

export class BacklogView {
  #durable: DurableTier | undefined;

  constructor(
    private readonly buffer: EntryBuffer,
    private readonly spool: Spool,
    private readonly now: () => number,
  ) {}

  attachDurableTier(tier: DurableTier): void {
    this.#durable = tier;
  }

  durableTier(): DurableTier | undefined {
    return this.#durable;
  }

  /** Messages spooled and not yet read back, and the age of the oldest spooled one. */
  spoolBacklog(): { messages: number; oldestAgeMs: number } {
    const messages = this.spool.unread();
    const oldest = this.#oldestSpooledMs();
    const oldestAgeMs = messages > 0 && oldest !== undefined ? Math.max(0, this.now() - oldest) : 0;
    return { messages, oldestAgeMs };
  }

  /** Receive time of the oldest message not yet acknowledged by SQS (undefined when there is none). */
  oldestUndeliveredMs(): number | undefined {
    const mem = this.buffer.oldestSubmittedAtMs();
    const spooled = this.#oldestSpooledMs();
    if (mem === undefined) return spooled;
    return spooled === undefined ? mem : Math.min(mem, spooled);
  }

  /**
   * Everything accepted before the returned time is acknowledged by SQS or stored durably: the oldest
   * accepted message that would be lost with the task bounds it (now when there is none). Without a
   * durable tier the spool counts as durable (a persistent local disk).
   */
  durableThroughMs(): number {
    const now = this.now();
    const tier = this.#durable;
    const mem = this.buffer.oldestSubmittedAtMs(
      (e) => e.segment === undefined || (tier !== undefined && !tier.isDurable(e.segment)),
    );
    const pending = tier?.oldestPendingMs();
    return Math.min(now, mem ?? now, pending ?? now);
  }

  #oldestSpooledMs(): number | undefined {
    let oldest: number | undefined;
    for (const s of this.spool.segments()) {
      if (Number.isFinite(s.oldestMs) && (oldest === undefined || s.oldestMs < oldest)) oldest = s.oldestMs;
    }
    return oldest;
  }
}
