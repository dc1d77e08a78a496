/**
 * The sink's bounded in-memory buffer: entries kept per lane (FIFO: the message group = topic; standard
 * queues: round-robin lanes) by a GroupScheduler (group-scheduler.ts: at most one batch in flight per lane,
 * so retries never overtake within a lane; batches filled across lanes). Memory is counted in entries and in
 * bytes (SQS size + ENTRY_OVERHEAD_BYTES per entry).
 */
import type { QueuedMessage } from "../../shared/contracts.ts";
import type { SqsEntry } from "../core/message.ts";
import { type EntryTraits, type Group, GroupScheduler } from "./group-scheduler.ts";

/** Heap an entry costs beyond its SQS size (entry, fields and strings' headers), for the memory bound. */
export const ENTRY_OVERHEAD_BYTES = 512;
/** SQS SendMessageBatch takes at most 10 entries. */
export const MAX_BATCH_ENTRIES = 10;

export interface Entry {
  seq: number;
  kind: QueuedMessage["kind"];
  sqs: SqsEntry;
  laneKey: string;
  submittedAtMs: number;
  oversized: boolean;
  /** Send alone (after a batch-level "split" error). */
  solo: boolean;
  /** Spool segment the entry was read from, to settle once delivered (it stays on disk until then). */
  segment?: number;
}

/** A FIFO group's entries (a standard queue's lane) and whether a batch or offload of it is in flight. */
export type Lane = Group<Entry>;

const ENTRY_TRAITS: EntryTraits<Entry> = {
  group: (e) => e.laneKey,
  bytes: (e) => e.sqs.sizeBytes,
  solo: (e) => e.solo,
  detour: (e) => e.oversized,
};

export class EntryBuffer {
  readonly #lanes = new GroupScheduler<Entry>(ENTRY_TRAITS);
  #count = 0;
  #bytes = 0;

  constructor(
    private readonly limitEntries: number,
    private readonly limitBytes: number,
  ) {}

  count(): number {
    return this.#count;
  }

  full(): boolean {
    return this.#count >= this.limitEntries || this.#bytes >= this.limitBytes;
  }

  /** Room left under the entry bound. */
  room(): number {
    return Math.max(0, this.limitEntries - this.#count);
  }

  /** Lanes with a batch or offload in flight. */
  busyLanes(): number {
    return this.#lanes.busyGroups();
  }

  add(entry: Entry): void {
    this.#lanes.add(entry);
    this.#count++;
    this.#bytes += entry.sqs.sizeBytes + ENTRY_OVERHEAD_BYTES;
  }

  /** Removes a delivered or dead-lettered entry; false if it was not held. */
  remove(e: Entry): boolean {
    if (!this.#lanes.remove(e)) return false;
    this.#count--;
    this.#bytes -= e.sqs.sizeBytes + ENTRY_OVERHEAD_BYTES;
    return true;
  }

  /** Puts `replacement` where `original` was (an offloaded event's pointer). */
  replace(original: Entry, replacement: Entry): void {
    if (this.#lanes.replace(original, replacement)) {
      this.#bytes += replacement.sqs.sizeBytes - original.sqs.sizeBytes;
    }
  }

  lane(key: string): Lane | undefined {
    return this.#lanes.group(key);
  }

  /**
   * Next batch: lanes ready at `nowMs` in order, each contributing its oldest entries that fit. An oversized
   * head is handed to `onOversized` with its lane marked busy instead.
   */
  takeBatch(maxBatchBytes: number, onOversized: (lane: Lane, head: Entry) => void, nowMs: number): Entry[] {
    return this.#lanes.takeBatch(
      { maxEntries: MAX_BATCH_ENTRIES, maxBytes: maxBatchBytes },
      onOversized,
      nowMs,
    );
  }

  /** A lane's next batch, staged while its batch is in flight (GroupScheduler.takeStaged). */
  takeStaged(maxBatchBytes: number): Entry[] {
    return this.#lanes.takeStaged({ maxEntries: MAX_BATCH_ENTRIES, maxBytes: maxBatchBytes });
  }

  /**
   * The lanes of a finished batch take part again (those in `wait` from its time on); returns the lanes whose
   * staged batch is promoted (to be written now) or cancelled (GroupScheduler.release).
   */
  release(
    batch: readonly Entry[],
    wait?: { groups: ReadonlySet<string>; untilMs: number },
    mayPromote?: () => boolean,
  ): { promoted: string[]; cancelled: string[] } {
    return this.#lanes.release(batch, wait, mayPromote);
  }

  /** When the first lane backing off may be sent again (undefined: none waits). */
  nextWakeMs(): number | undefined {
    return this.#lanes.nextWakeMs();
  }

  settle(lane: Lane): void {
    this.#lanes.settle(lane);
  }

  /** Some entry of a lane with nothing in flight matches `pred`. */
  hasIdle(pred: (e: Entry) => boolean): boolean {
    for (const lane of this.#lanes.groups()) if (!lane.busy && lane.entries.some(pred)) return true;
    return false;
  }

  /** Removes and returns every entry of lanes with nothing in flight, oldest first (to persist them). */
  takeIdle(): Entry[] {
    const out = this.#lanes.takeIdle();
    for (const e of out) {
      this.#count--;
      this.#bytes -= e.sqs.sizeBytes + ENTRY_OVERHEAD_BYTES;
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Removes and returns everything, oldest first (close: whatever is left goes to the spool). */
  takeAll(): Entry[] {
    const all = this.#lanes.takeAll().sort((a, b) => a.seq - b.seq);
    this.#count = 0;
    this.#bytes = 0;
    return all;
  }

  /** Earliest submit time of an entry matching `pred` (undefined if none). */
  oldestSubmittedAtMs(pred: (e: Entry) => boolean = () => true): number | undefined {
    let oldest: number | undefined;
    for (const lane of this.#lanes.groups()) {
      for (const e of lane.entries) {
        if (pred(e) && (oldest === undefined || e.submittedAtMs < oldest)) oldest = e.submittedAtMs;
      }
    }
    return oldest;
  }
}
