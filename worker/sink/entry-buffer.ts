/**
 * The sink's bounded in-memory buffer: entries kept per lane (FIFO: the message group = topic; standard
 * queues: round-robin lanes), at most one batch in flight per lane, so retries never overtake within a lane.
 * Memory is counted in entries and in bytes (SQS size + ENTRY_OVERHEAD_BYTES per entry).
 */
import type { QueuedMessage } from "../../shared/contracts.ts";
import type { SqsEntry } from "../core/message.ts";

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

export interface Lane {
  key: string;
  entries: Entry[];
  /** A batch (or an offload) of this lane is in flight. */
  busy: boolean;
}

export class EntryBuffer {
  readonly #lanes = new Map<string, Lane>();
  /** Lanes with entries and nothing in flight, in the order they became ready. */
  readonly #ready = new Set<string>();
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

  add(entry: Entry): void {
    let lane = this.#lanes.get(entry.laneKey);
    if (!lane) {
      lane = { key: entry.laneKey, entries: [], busy: false };
      this.#lanes.set(entry.laneKey, lane);
    }
    lane.entries.push(entry);
    this.#count++;
    this.#bytes += entry.sqs.sizeBytes + ENTRY_OVERHEAD_BYTES;
    if (!lane.busy) this.#ready.add(lane.key);
  }

  /** Removes a delivered or dead-lettered entry; false if it was not held. */
  remove(e: Entry): boolean {
    const lane = this.#lanes.get(e.laneKey);
    if (!lane) return false;
    const i = lane.entries.indexOf(e);
    if (i < 0) return false;
    lane.entries.splice(i, 1);
    this.#count--;
    this.#bytes -= e.sqs.sizeBytes + ENTRY_OVERHEAD_BYTES;
    return true;
  }

  /** Puts `replacement` where `original` was (an offloaded event's pointer). */
  replace(original: Entry, replacement: Entry): void {
    const lane = this.#lanes.get(original.laneKey);
    const i = lane ? lane.entries.indexOf(original) : -1;
    if (!lane || i < 0) return;
    lane.entries[i] = replacement;
    this.#bytes += replacement.sqs.sizeBytes - original.sqs.sizeBytes;
  }

  lane(key: string): Lane | undefined {
    return this.#lanes.get(key);
  }

  /**
   * Next batch: ready lanes in order, each contributing its oldest entries that fit. An oversized head is
   * handed to `onOversized` with its lane marked busy instead.
   */
  takeBatch(maxBatchBytes: number, onOversized: (lane: Lane, head: Entry) => void): Entry[] {
    const batch: Entry[] = [];
    let bytes = 0;
    for (const key of this.#ready) {
      if (batch.length >= MAX_BATCH_ENTRIES) break;
      const lane = this.#lanes.get(key)!;
      const head = lane.entries[0];
      if (!head) {
        this.#ready.delete(key);
        continue;
      }
      if (head.oversized) {
        this.#ready.delete(key);
        lane.busy = true;
        onOversized(lane, head);
        continue;
      }
      if (head.solo && batch.length > 0) continue;
      let taken = 0;
      for (const e of lane.entries) {
        if (e.oversized || batch.length >= MAX_BATCH_ENTRIES || bytes + e.sqs.sizeBytes > maxBatchBytes)
          break;
        if (e.solo && batch.length > 0) break;
        batch.push(e);
        bytes += e.sqs.sizeBytes;
        taken++;
        if (e.solo) break;
      }
      if (taken > 0) {
        lane.busy = true;
        this.#ready.delete(key);
      }
      if (batch.length > 0 && batch[batch.length - 1]!.solo) break;
    }
    return batch;
  }

  /** The lanes of a finished batch take part again. */
  release(batch: readonly Entry[]): void {
    for (const key of new Set(batch.map((e) => e.laneKey))) {
      const lane = this.#lanes.get(key);
      if (lane) this.settle(lane);
    }
  }

  settle(lane: Lane): void {
    lane.busy = false;
    if (lane.entries.length === 0) {
      this.#lanes.delete(lane.key);
      this.#ready.delete(lane.key);
    } else {
      this.#ready.add(lane.key);
    }
  }

  /** Some entry of a lane with nothing in flight matches `pred`. */
  hasIdle(pred: (e: Entry) => boolean): boolean {
    for (const lane of this.#lanes.values()) if (!lane.busy && lane.entries.some(pred)) return true;
    return false;
  }

  /** Removes and returns every entry of lanes with nothing in flight, oldest first (to persist them). */
  takeIdle(): Entry[] {
    const out: Entry[] = [];
    for (const lane of [...this.#lanes.values()]) {
      if (lane.busy) continue;
      for (const e of lane.entries) {
        this.#count--;
        this.#bytes -= e.sqs.sizeBytes + ENTRY_OVERHEAD_BYTES;
        out.push(e);
      }
      this.#lanes.delete(lane.key);
      this.#ready.delete(lane.key);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Removes and returns everything, oldest first (close: whatever is left goes to the spool). */
  takeAll(): Entry[] {
    const all = [...this.#lanes.values()].flatMap((l) => l.entries).sort((a, b) => a.seq - b.seq);
    this.#lanes.clear();
    this.#ready.clear();
    this.#count = 0;
    this.#bytes = 0;
    return all;
  }

  /** Earliest submit time of an entry matching `pred` (undefined if none). */
  oldestSubmittedAtMs(pred: (e: Entry) => boolean = () => true): number | undefined {
    let oldest: number | undefined;
    for (const lane of this.#lanes.values()) {
      for (const e of lane.entries) {
        if (pred(e) && (oldest === undefined || e.submittedAtMs < oldest)) oldest = e.submittedAtMs;
      }
    }
    return oldest;
  }
}
