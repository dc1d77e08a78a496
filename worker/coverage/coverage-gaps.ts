/**
 * Pure derivation of uncovered intervals from the coverage ledger's records (DESIGN.md section 7).
 *
 * A task is alive while it heartbeats (`heartbeatAtMs` within `staleAfterMs`) and has not stopped. Each
 * stretch covers [since, liveAt], extended to now while its task is alive and the stretch has not ended.
 * The ledger's origin is the earliest task start: before any task ran nothing was promised. Uncovered intervals are the holes in the union of stretches from the origin to now:
 * - a hole followed by a stretch is closed: coverage was really restored at that stretch's start;
 * - a hole reaching now is open (nobody covers at the moment): reported, not emitted, until it closes.
 * A gap's identity is its start, which every task derives alike from the same records once the tasks
 * before it are final (ended, stopped or stale): the gap claim is keyed on it.
 */
import type { CoverageSnapshot } from "./coverage-records.ts";

export interface UncoveredInterval {
  startMs: number;
  endMs: number;
}

export interface CoverageView {
  closed: UncoveredInterval[];
  /** Start of the hole reaching now, when nothing covers now. */
  openSinceMs: number | undefined;
}

export interface DeriveOptions {
  staleAfterMs: number;
  /**
   * Holes starting longer ago than this are not reported (the records before it may have expired). Keep it
   * well under the items' time to live: a stretch ending inside the look-back is then always present.
   */
  lookbackMs: number;
}

export function deriveCoverage(snapshot: CoverageSnapshot, nowMs: number, o: DeriveOptions): CoverageView {
  const horizon = nowMs - o.lookbackMs;
  const alive = new Set<string>();
  let origin = Number.POSITIVE_INFINITY;
  for (const t of snapshot.tasks) {
    origin = Math.min(origin, t.startedAtMs);
    if (t.stoppedAtMs === undefined && t.heartbeatAtMs >= nowMs - o.staleAfterMs) alive.add(t.taskId);
  }
  const intervals: UncoveredInterval[] = [];
  for (const s of snapshot.stretches) {
    const end = !s.ended && alive.has(s.taskId) ? nowMs : s.liveAtMs;
    if (end < horizon || end < s.sinceMs) continue;
    intervals.push({ startMs: s.sinceMs, endMs: end });
    origin = Math.min(origin, s.sinceMs);
  }
  if (!Number.isFinite(origin)) return { closed: [], openSinceMs: undefined };
  intervals.sort((a, b) => a.startMs - b.startMs);
  const closed: UncoveredInterval[] = [];
  let cursor = origin;
  for (const i of intervals) {
    if (i.startMs > cursor && cursor >= horizon) closed.push({ startMs: cursor, endMs: i.startMs });
    cursor = Math.max(cursor, i.endMs);
  }
  return { closed, openSinceMs: cursor < nowMs ? cursor : undefined };
}
