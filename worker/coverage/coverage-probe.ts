/**
 * Watches the sessions the supervisor creates (a SessionFactory wrapper) to tell the coverage ledger
 * whether the topics are covered right now and up to when they were: the last frame of any live session
 * (heartbeats included) is the last moment coverage is known. A session stops counting at its closing, or
 * at its last frame when the watchdog found it silent. Pure bookkeeping: no I/O.
 */

import type { Session, SessionFactory } from "../source/session.ts";
import type { WorkerToken } from "../token/token-source.ts";

export class CoverageProbe implements SessionFactory {
  readonly #live = new Map<Session, number>();
  readonly #listeners: Array<() => void> = [];
  #liveSinceMs: number | undefined;
  #lastCoveredMs: number | undefined;

  constructor(
    private readonly inner: SessionFactory,
    private readonly now: () => number = Date.now,
  ) {}

  create(token: WorkerToken, label: string): Session {
    const s = this.inner.create(token, label);
    s.on("live", () => {
      const began = this.#live.size === 0;
      if (began) this.#liveSinceMs = this.now();
      this.#live.set(s, this.now());
      if (began) this.#changed();
    });
    s.on("failure", (f) => {
      if (f.kind === "watchdog") this.#down(s, s.lastFrameAtMs);
    });
    s.on("closed", () => this.#down(s, Math.max(s.lastFrameAtMs, this.#live.get(s) ?? 0)));
    return s;
  }

  /** Called whenever coverage starts or ends. */
  onChange(cb: () => void): void {
    this.#listeners.push(cb);
  }

  /** When the current covered stretch began (undefined while nothing is live). */
  liveSinceMs(): number | undefined {
    return this.#live.size > 0 ? this.#liveSinceMs : undefined;
  }

  /** The last moment any live session is known to have covered (undefined while nothing is live). */
  coveredThroughMs(): number | undefined {
    if (this.#live.size === 0) return undefined;
    let through = 0;
    for (const [s, liveAt] of this.#live) through = Math.max(through, s.lastFrameAtMs, liveAt);
    return Math.min(through, this.now());
  }

  /** The last moment of coverage before the current lapse (undefined if never covered). */
  lastCoveredMs(): number | undefined {
    return this.#lastCoveredMs;
  }

  #down(s: Session, coveredUntilMs: number): void {
    if (!this.#live.has(s)) return;
    this.#live.delete(s);
    this.#lastCoveredMs = Math.max(this.#lastCoveredMs ?? 0, Math.min(coveredUntilMs, this.now()));
    if (this.#live.size === 0) this.#changed();
  }

  #changed(): void {
    for (const cb of this.#listeners) cb();
  }
}
