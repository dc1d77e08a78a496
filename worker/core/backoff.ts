/**
 * Full-jitter exponential backoff (delay = random * min(cap, base * 2^attempt)) with a floor so no caller can
 * spin in a 0 ms loop, and an attempt counter that only resets after a connection stayed up for
 * `resetAfterStableMs`: a connection that flaps (connects, dies seconds later) keeps backing off.
 */

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  resetAfterStableMs?: number;
  /** Smallest delay ever returned; clamped to at least MIN_FLOOR_MS. */
  floorMs?: number;
}

export const MIN_FLOOR_MS = 10;
const MAX_EXPONENT = 30;

export class FullJitterBackoff {
  readonly baseMs: number;
  readonly capMs: number;
  readonly resetAfterStableMs: number;
  readonly floorMs: number;
  #attempts = 0;
  #connectedAtMs: number | undefined;

  constructor(
    opts: BackoffOptions = {},
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {
    this.baseMs = positive(opts.baseMs, 500);
    this.capMs = Math.max(this.baseMs, positive(opts.capMs, 30_000));
    this.resetAfterStableMs = positive(opts.resetAfterStableMs, 60_000);
    this.floorMs = Math.max(MIN_FLOOR_MS, opts.floorMs ?? 100);
  }

  /** Failures since the last stable period. */
  get attempts(): number {
    this.#resetIfStable();
    return this.#attempts;
  }

  /** Delay before the next attempt; counts as one attempt. `minDelayMs` (e.g. Retry-After) is honoured. */
  nextDelayMs(minDelayMs?: number): number {
    this.#resetIfStable();
    // Asking for a delay means the connection is not up: stop counting uptime.
    this.#connectedAtMs = undefined;
    const jittered = this.delayForAttempt(this.#attempts);
    this.#attempts++;
    const min = minDelayMs !== undefined && Number.isFinite(minDelayMs) ? minDelayMs : 0;
    return Math.max(jittered, Math.ceil(min));
  }

  /** The full-jitter delay after `attempt` failures in a row (0: the first), without counting one. */
  delayForAttempt(attempt: number): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(attempt, MAX_EXPONENT));
    return Math.max(this.floorMs, Math.floor(clamp01(this.random()) * ceiling));
  }

  /** The connection is up: stability is measured from now. */
  connected(): void {
    this.#resetIfStable();
    this.#connectedAtMs = this.now();
  }

  /** The connection went down (or an attempt failed): uptime so far decides whether the count resets. */
  failed(): void {
    this.#resetIfStable();
    this.#connectedAtMs = undefined;
  }

  #resetIfStable(): void {
    if (this.#connectedAtMs !== undefined && this.now() - this.#connectedAtMs >= this.resetAfterStableMs) {
      this.#attempts = 0;
    }
  }
}

function positive(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
}

function clamp01(r: number): number {
  return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 1;
}
