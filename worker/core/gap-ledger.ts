/**
 * Coverage gaps: any interval during which zero sessions were live, after the first session went live.
 * The time before the very first session goes live (worker start-up) is not a gap: nothing was covered
 * yet, so nothing was lost from coverage. A gap is reported when coverage returns, or by `close()` at
 * shutdown if it is still open then (end = shutdown time).
 */
import type { QueuedGapMessage } from "../../shared/contracts.ts";

export interface Gap {
  startMs: number;
  endMs: number;
}

export class GapTracker {
  readonly #live = new Set<string>();
  readonly #listeners: Array<(gap: Gap) => void> = [];
  #everLive = false;
  #gapStartMs: number | undefined;
  #closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  sessionLive(id: string): void {
    if (this.#closed) return;
    this.#live.add(id);
    this.#everLive = true;
    if (this.#gapStartMs !== undefined) {
      const gap = { startMs: this.#gapStartMs, endMs: Math.max(this.#gapStartMs, this.now()) };
      this.#gapStartMs = undefined;
      this.#emit(gap);
    }
  }

  sessionDown(id: string): void {
    if (this.#closed || !this.#live.delete(id)) return;
    if (this.#live.size === 0 && this.#everLive) this.#gapStartMs = this.now();
  }

  liveCount(): number {
    return this.#live.size;
  }

  /** Start of the gap in progress, if coverage is lapsed right now. */
  openGapSinceMs(): number | undefined {
    return this.#gapStartMs;
  }

  onGap(cb: (gap: Gap) => void): void {
    this.#listeners.push(cb);
  }

  /** Shutdown: closes an open gap at now and stops tracking. Sessions closed by the shutdown itself are not a gap. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#gapStartMs !== undefined) {
      const gap = { startMs: this.#gapStartMs, endMs: Math.max(this.#gapStartMs, this.now()) };
      this.#gapStartMs = undefined;
      this.#emit(gap);
    }
  }

  #emit(gap: Gap): void {
    for (const cb of this.#listeners) cb(gap);
  }
}

export const GAP_TOPIC = "tokenstream.gap";

export function toGapMessage(gap: Gap, topics: readonly string[]): QueuedGapMessage {
  return {
    kind: "gap",
    topicName: GAP_TOPIC,
    start: new Date(gap.startMs).toISOString(),
    end: new Date(gap.endMs).toISOString(),
    durationMs: gap.endMs - gap.startMs,
    topics: [...topics],
  };
}
