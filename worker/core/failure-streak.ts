/**
 * Bounded failure counting for one supervisor slot (DESIGN.md section 4: never a loop, never giving up too
 * early). Pure: the clock is injected.
 *
 * - `FailureStreak`: consecutive failures of a kind (e.g. 400 on subscribe, broker 403/404) since the slot's
 *   last live session. Other failures in between do not reset it (a 400 / 503 / 400 pattern is still a
 *   loop); only a session going live does. At the limit the failure is treated as permanent.
 * - `RecentCount`: how many times something happened within a sliding window (channel deaths: one is a
 *   normal event, several within minutes mean another consumer keeps evicting this worker's channels).
 */

/** Failure kinds counted towards a permanent stop. */
export type StreakKind = "bad-request" | "token-refused";

export interface StreakStep {
  kind: StreakKind;
  /** Consecutive failures of this kind, this one included. */
  count: number;
  limit: number;
  /** The limit is reached: stop instead of retrying. */
  exhausted: boolean;
}

export const DEFAULT_STREAK_LIMIT = 5;

export class FailureStreak {
  readonly #limits: Record<StreakKind, number>;
  readonly #counts = new Map<StreakKind, number>();

  constructor(limits: Partial<Record<StreakKind, number>> = {}) {
    this.#limits = {
      "bad-request": atLeastOne(limits["bad-request"]),
      "token-refused": atLeastOne(limits["token-refused"]),
    };
  }

  record(kind: StreakKind): StreakStep {
    const count = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, count);
    const limit = this.#limits[kind];
    return { kind, count, limit, exhausted: count >= limit };
  }

  count(kind: StreakKind): number {
    return this.#counts.get(kind) ?? 0;
  }

  /** A session went live: every streak starts over. */
  reset(): void {
    this.#counts.clear();
  }
}

function atLeastOne(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) && v >= 1 ? Math.floor(v) : DEFAULT_STREAK_LIMIT;
}

export class RecentCount {
  readonly #atMs: number[] = [];

  constructor(
    readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Records one occurrence now; returns how many fell within the window, this one included. */
  record(): number {
    const nowMs = this.now();
    this.#atMs.push(nowMs);
    return this.count(nowMs);
  }

  count(nowMs: number = this.now()): number {
    while (this.#atMs.length > 0 && nowMs - this.#atMs[0]! >= this.windowMs) this.#atMs.shift();
    return this.#atMs.length;
  }
}
