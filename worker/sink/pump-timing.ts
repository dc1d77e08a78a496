/**
 * When the sink pumps (sends what it can): soon, coalesced into one setImmediate however many submits and
 * answers ask for it in a turn, or at a time (the end of a pause, a throttled lane's not-before time) with
 * one timer for the earliest time asked. Nothing is scheduled once stopped.
 */
export class PumpTiming {
  #wake: { timer: NodeJS.Timeout; atMs: number } | undefined;
  #soon: NodeJS.Immediate | undefined;
  #stopped = false;

  constructor(
    private readonly pump: () => void,
    private readonly now: () => number,
  ) {}

  /** Pumps once, after the current turn. */
  soon(): void {
    if (this.#soon || this.#stopped) return;
    this.#soon = setImmediate(() => {
      this.#soon = undefined;
      this.pump();
    });
  }

  /** Pumps at `atMs` (or earlier, if a wake-up is already set for earlier). */
  at(atMs: number): void {
    if (this.#stopped || (this.#wake && this.#wake.atMs <= atMs)) return;
    if (this.#wake) clearTimeout(this.#wake.timer);
    const timer = setTimeout(
      () => {
        this.#wake = undefined;
        this.pump();
      },
      Math.max(0, atMs - this.now()),
    );
    this.#wake = { timer, atMs };
  }

  stop(): void {
    this.#stopped = true;
    if (this.#wake) clearTimeout(this.#wake.timer);
    if (this.#soon) clearImmediate(this.#soon);
    this.#wake = undefined;
    this.#soon = undefined;
  }
}
