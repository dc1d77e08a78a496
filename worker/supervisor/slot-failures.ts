/**
 * What one slot remembers about its failures, so that no failure loops and none stops the slot too early:
 * consecutive 400s and broker refusals (bounded, then permanent), and channel deaths within a window
 * (quota eviction by another consumer of the same OAuth client: back off instead of evicting it back).
 */
import { type BackoffOptions, FullJitterBackoff } from "../core/backoff.ts";
import { FailureStreak, RecentCount, type StreakKind, type StreakStep } from "../core/failure-streak.ts";

export interface SlotFailureOptions {
  /** Consecutive 400s on channel create or subscribe before the slot stops. Default 5. */
  maxConsecutiveBadRequests?: number;
  /** Consecutive broker 403/404 answers (no permanent error code) before the slot stops. Default 5. */
  maxConsecutiveTokenRefusals?: number;
  /** Channel deaths within this window after the first back off instead of rotating at once. Default 60000. */
  evictionWindowMs?: number;
  /** Backoff between rebuilds after repeated channel deaths. Default base 1000, cap 60000. */
  evictionBackoff?: BackoffOptions;
}

/**
 * A short window: a quota ping-pong kills a channel seconds after it is made, while unrelated deaths (a
 * revoked token, an upstream restart) are minutes apart and keep rotating at once. The backoff's attempt
 * count survives the window (it resets only after a session stayed up a whole window), so a ping-pong that
 * waits past the window still grows its delays.
 */
export const DEFAULT_EVICTION_WINDOW_MS = 60_000;
export const DEFAULT_EVICTION_BACKOFF = { baseMs: 1_000, capMs: 60_000 } as const;

export interface ChannelDeathStep {
  /** Deaths within the window, this one included. */
  deathsInWindow: number;
  /** 0: rotate now (a single death); otherwise wait this long before the replacement. */
  delayMs: number;
}

export class SlotFailures {
  readonly #streak: FailureStreak;
  readonly #deaths: RecentCount;
  readonly #evictionBackoff: FullJitterBackoff;

  constructor(opts: SlotFailureOptions, random: () => number, now: () => number) {
    this.#streak = new FailureStreak({
      "bad-request": opts.maxConsecutiveBadRequests,
      "token-refused": opts.maxConsecutiveTokenRefusals,
    });
    const windowMs = opts.evictionWindowMs ?? DEFAULT_EVICTION_WINDOW_MS;
    this.#deaths = new RecentCount(windowMs, now);
    this.#evictionBackoff = new FullJitterBackoff(
      { ...DEFAULT_EVICTION_BACKOFF, resetAfterStableMs: windowMs, ...opts.evictionBackoff },
      random,
      now,
    );
  }

  record(kind: StreakKind): StreakStep {
    return this.#streak.record(kind);
  }

  /** A session of the slot went live: streaks start over; the eviction backoff measures uptime from now. */
  live(): void {
    this.#streak.reset();
    this.#evictionBackoff.connected();
  }

  /** A live session's channel died before its expiry. */
  channelDead(): ChannelDeathStep {
    const deathsInWindow = this.#deaths.record();
    this.#evictionBackoff.failed();
    if (deathsInWindow < 2) return { deathsInWindow, delayMs: 0 };
    return { deathsInWindow, delayMs: this.#evictionBackoff.nextDelayMs() };
  }
}
