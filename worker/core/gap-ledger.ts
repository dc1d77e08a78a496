/**
 * Coverage gaps from evidence: a session covers from when it went live until its coverage ends, which is
 * when it closed, or, for a session found silent (watchdog, or missing what its peers delivered), the last
 * moment it was known to deliver (its last frame or event) — possibly well before it is declared dead.
 * Any interval covered by no session, after the first session went live, is a gap, whether the sessions
 * died together or one after another (staggered silence is found once the last of them is declared dead,
 * and the gap is backdated to its last evidence). The time before the very first session goes live
 * (worker start-up) is not a gap: nothing was covered yet. A gap is reported once coverage returns, or by
 * `close()` at shutdown if it is still open then (end = shutdown time). Pure: the clock is injected.
 */
import type { QueuedGapMessage } from "../../shared/contracts.ts";

export interface Gap {
  startMs: number;
  endMs: number;
}

/** How far back a late-declared silence may withdraw coverage (older history is settled and forgotten). */
export const COVERAGE_HISTORY_MS = 15 * 60_000;

export class GapTracker {
  /** Open sessions and when they went live. */
  readonly #live = new Map<string, number>();
  /** Coverage of sessions that ended, within the history kept. */
  #ended: Gap[] = [];
  /** Gaps already reported, within the history kept (never reported twice). */
  #reported: Gap[] = [];
  readonly #listeners: Array<(gap: Gap) => void> = [];
  #firstLiveMs: number | undefined;
  #gapStartMs: number | undefined;
  #closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  sessionLive(id: string, atMs: number = this.now()): void {
    if (this.#closed || this.#live.has(id)) return;
    this.#live.set(id, atMs);
    this.#firstLiveMs ??= atMs;
    this.#evaluate();
  }

  /**
   * The session no longer covers. `coveredUntilMs` (default now): the last moment it was known to
   * deliver; earlier than now for a session found silent, which withdraws its coverage since then.
   */
  sessionDown(id: string, coveredUntilMs: number = this.now()): void {
    if (this.#closed) return;
    const liveAtMs = this.#live.get(id);
    if (liveAtMs === undefined) return;
    this.#live.delete(id);
    this.#ended.push({ startMs: liveAtMs, endMs: Math.max(liveAtMs, Math.min(coveredUntilMs, this.now())) });
    this.#evaluate();
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

  /** Sweeps the coverage history: reports every uncovered interval that coverage has closed again. */
  #evaluate(): void {
    if (this.#firstLiveMs === undefined) return;
    const nowMs = this.now();
    const floor = Math.max(this.#firstLiveMs, nowMs - COVERAGE_HISTORY_MS);
    this.#ended = this.#ended.filter((g) => g.endMs >= floor);
    this.#reported = this.#reported.filter((g) => g.endMs >= floor);
    const intervals: Gap[] = [...this.#ended];
    for (const liveAtMs of this.#live.values())
      intervals.push({ startMs: liveAtMs, endMs: Number.POSITIVE_INFINITY });
    intervals.sort((a, b) => a.startMs - b.startMs);
    let coveredTo = floor;
    const uncovered: Gap[] = [];
    for (const iv of intervals) {
      if (iv.startMs > coveredTo) uncovered.push({ startMs: coveredTo, endMs: iv.startMs });
      if (iv.endMs > coveredTo) coveredTo = iv.endMs;
    }
    this.#gapStartMs = coveredTo < nowMs || this.#live.size === 0 ? Math.min(coveredTo, nowMs) : undefined;
    for (const u of uncovered) for (const piece of subtract(u, this.#reported)) this.#report(piece);
  }

  #report(gap: Gap): void {
    if (gap.endMs <= gap.startMs) return;
    this.#reported.push(gap);
    this.#emit(gap);
  }

  #emit(gap: Gap): void {
    for (const cb of this.#listeners) cb(gap);
  }
}

/** The parts of `gap` not covered by any of `known`. */
export function subtract(gap: Gap, known: readonly Gap[]): Gap[] {
  let pieces: Gap[] = [gap];
  for (const k of known) {
    const next: Gap[] = [];
    for (const p of pieces) {
      if (k.endMs <= p.startMs || k.startMs >= p.endMs) {
        next.push(p);
        continue;
      }
      if (k.startMs > p.startMs) next.push({ startMs: p.startMs, endMs: k.startMs });
      if (k.endMs < p.endMs) next.push({ startMs: k.endMs, endMs: p.endMs });
    }
    pieces = next;
  }
  return pieces;
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
