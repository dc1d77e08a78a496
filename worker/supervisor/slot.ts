/** One redundancy slot: its active session, the candidate being built, the sessions draining, its timers. */
import type { FullJitterBackoff } from "../core/backoff.ts";
import type { Session } from "../source/session.ts";

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
