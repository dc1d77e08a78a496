/**
 * How late a process's timers fire on average, learned from each one that fires, so the next can be set that
 * much earlier. Node fires timers on whole milliseconds of loop time: a timer set for 20.3 ms fires about
 * 21 ms later, a fraction of a millisecond late on average (~0.4 ms measured on the bench machine). An
 * integral correction: each lateness moves the estimate by `gain` x that lateness, so it settles where the
 * mean lateness of corrected timers is zero. Bounded, so a stalled event loop cannot make holds short for long.
 *
 * Pure: the caller measures.
 */
export class TimerLateness {
  #estimateMs = 0;

  constructor(
    private readonly gain = 0.05,
    private readonly boundMs = 2,
  ) {}

  /** Set a timer this much earlier than it is due (ms; negative: later). */
  correctionMs(): number {
    return this.#estimateMs;
  }

  /** A corrected timer fired `lateMs` after it was due (negative: early). */
  learn(lateMs: number): void {
    const next = this.#estimateMs + this.gain * lateMs;
    this.#estimateMs = Math.max(-this.boundMs, Math.min(this.boundMs, next));
  }
}
