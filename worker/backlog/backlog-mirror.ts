/**
 * Mirrors the sink's spool to the durable backlog store: every `flushIntervalMs` the tail segment is sealed
 * and each sealed segment not yet stored is uploaded (oldest first); a segment the spool deletes (all its
 * lines delivered, or rewritten at its head) is deleted from the store. So whatever the task has accepted
 * and SQS has not is in the store within about one flush interval, and `oldestPendingMs` says since when
 * something is not (the coverage ledger's durable watermark).
 */
import { readFileSync } from "node:fs";
import { errorCode } from "../sink/send-errors.ts";
import type { SinkLogger, SinkMetrics } from "../sink/sink-ports.ts";
import { type Spool, segmentSeq } from "../sink/spool.ts";
import type { DurableTier } from "../sink/sqs-sink.ts";
import type { BacklogStore } from "./backlog-store.ts";

export interface BacklogMirrorOptions {
  store: BacklogStore;
  /** This task's id: its segments are stored under it. */
  owner: string;
  flushIntervalMs: number;
  log: SinkLogger;
  metrics: SinkMetrics;
}

export class BacklogMirror implements DurableTier {
  readonly #stored = new Set<number>();
  /** Segments removed locally while their upload was in flight: delete once it lands. */
  readonly #removedWhileUploading = new Set<number>();
  readonly #uploading = new Set<number>();
  /** Delivered segments whose stored copy could not be deleted yet. */
  readonly #pendingDeletes = new Set<string>();
  #spool: Spool | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failing = false;

  constructor(private readonly o: BacklogMirrorOptions) {}

  /** The spool to mirror (set once the sink exists: the sink reports removals through `segmentRemoved`). */
  attach(spool: Spool): void {
    this.#spool = spool;
  }

  start(): void {
    this.#timer = setInterval(() => void this.flush(), this.o.flushIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  isDurable(segment: number): boolean {
    return this.#stored.has(segment);
  }

  oldestPendingMs(): number | undefined {
    let oldest: number | undefined;
    for (const s of this.#spool?.segments() ?? []) {
      if (this.#stored.has(s.seq) || !Number.isFinite(s.oldestMs)) continue;
      if (oldest === undefined || s.oldestMs < oldest) oldest = s.oldestMs;
    }
    return oldest;
  }

  /** Seals the tail and uploads every sealed segment not stored yet; one pass at a time. */
  flush(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#pass();
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /**
   * Called by the spool for every segment file it deletes. The stored copy goes at the end of the next pass,
   * after that pass's uploads: a segment rewritten at the head of the spool is stored again before its
   * old copy disappears, so nothing once durable stops being durable before it is delivered.
   */
  segmentRemoved(name: string): void {
    const seq = segmentSeq(name);
    if (seq === undefined) return;
    if (this.#uploading.has(seq)) {
      this.#removedWhileUploading.add(seq);
      return;
    }
    if (!this.#stored.delete(seq)) return;
    this.#pendingDeletes.add(name);
    this.#again = this.#running !== undefined;
  }

  async #pass(): Promise<void> {
    const spool = this.#spool;
    if (!spool) return;
    const tail = spool.segments().at(-1);
    if (tail && !tail.sealed) spool.sealTail();
    for (const seg of spool.segments()) {
      if (!seg.sealed || this.#stored.has(seg.seq)) continue;
      let body: Buffer;
      try {
        body = readFileSync(seg.path);
      } catch {
        continue; // deleted meanwhile: delivered
      }
      this.#uploading.add(seg.seq);
      try {
        await this.o.store.put(this.o.owner, seg.name, body);
        this.#stored.add(seg.seq);
        if (this.#failing)
          this.o.log.info("backlog store reachable again", { code: "backlog_store_recovered" });
        this.#failing = false;
      } catch (err) {
        if (!this.#failing) {
          this.o.log.error("could not store a backlog segment; retrying", {
            code: "backlog_upload_failed",
            error: errorCode(err),
          });
        }
        this.#failing = true;
        return;
      } finally {
        this.#uploading.delete(seg.seq);
      }
      if (this.#removedWhileUploading.delete(seg.seq)) {
        this.#stored.delete(seg.seq);
        this.#pendingDeletes.add(seg.name);
      }
    }
    for (const name of [...this.#pendingDeletes]) await this.#deleteStored(name);
    this.o.metrics.gauge("BacklogBytes", spool.bytes());
  }

  async #deleteStored(name: string): Promise<void> {
    try {
      await this.o.store.delete(this.o.owner, name);
      this.#pendingDeletes.delete(name);
    } catch (err) {
      // Retried on the next pass: left behind, an adopter would deliver it again.
      this.#pendingDeletes.add(name);
      this.o.log.warn("could not delete a delivered backlog segment", {
        code: "backlog_delete_failed",
        error: errorCode(err),
        segment: name,
      });
    }
  }
}
