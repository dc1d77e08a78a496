/** One redundancy slot: its active session, the candidate being built, the sessions draining, its timers. */
import type { FullJitterBackoff } from "../core/backoff.ts";
import type { Session } from "../source/session.ts";
import type { SlotFailures } from "./slot-failures.ts";

export class Slot {
  active: Session | undefined;
  candidate: Session | undefined;
  building = false;
  retryTimer: NodeJS.Timeout | undefined;
  rotationTimer: NodeJS.Timeout | undefined;
  /** Replaced sessions still delivering until their drain period ends. */
  readonly draining = new Map<Session, NodeJS.Timeout>();
  /** When the active session went live. */
  activeSinceMs = 0;
  stopped = false;
  readonly backoff: FullJitterBackoff;
  constructor(
    readonly index: number,
    backoff: FullJitterBackoff,
    /** Bounded streaks (400s, broker refusals) and channel deaths of this slot. */
    readonly failures: SlotFailures,
  ) {
    this.backoff = backoff;
  }
  get label(): string {
    return `s${this.index}`;
  }
  busy(): boolean {
    return this.building || this.candidate !== undefined || this.retryTimer !== undefined;
  }
}
