/** The de-duplicator's record of one session (dedupe.ts), shared with its held matches (pending-matches.ts). */
import type { Pending } from "./pending-matches.ts";

export interface SessionState {
  readonly id: string;
  /** Its number in the occurrences' seen sets while it has one (-1: none). */
  num: number;
  liveAtMs: number | undefined;
  open: boolean;
  closedAtMs: number;
  closedOrderly: boolean;
  lastEventAtMs: number;
  misses: number;
  reportedSilent: boolean;
  /** The occurrence this session accounted for last (0: none). */
  cursor: number;
  /** Its held (ambiguous) matches not yet settled. */
  pendings: Pending[];
}

/** A session first heard from at `nowMs`: open, not yet live, without a number. */
export function newSession(id: string, nowMs: number): SessionState {
  return {
    id,
    num: -1,
    liveAtMs: undefined,
    open: true,
    closedAtMs: Number.NaN,
    closedOrderly: false,
    lastEventAtMs: nowMs,
    misses: 0,
    reportedSilent: false,
    cursor: 0,
    pendings: [],
  };
}
