/**
 * Emits `ratePerSec` events per second for every upstream topic (subscribed or not: upstream events happen
 * whether or not anyone listens), in batches per tick (rate kept
 * exact over time with per-topic fractional carry; a stalled loop catches up, capped at 5 s).
 */
const MAX_CATCH_UP_MS = 5000;

export interface GeneratorDeps {
  tickMs: number;
  /** Every topic the upstream publishes on right now. */
  topics(): string[];
  emit(topic: string): void;
  beforeBatch(): void;
  afterBatch(): void;
}

export class EventGenerator {
  private timer: NodeJS.Timeout | undefined;
  private carry = new Map<string, number>();
  private lastTick = 0;
  private rate = 0;

  constructor(private readonly deps: GeneratorDeps) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  get ratePerSec(): number {
    return this.rate;
  }

  start(ratePerSec: number): void {
    if (!Number.isFinite(ratePerSec) || ratePerSec < 0) {
      throw new RangeError(`generator rate must be a finite number >= 0, got ${ratePerSec}`);
    }
    this.rate = ratePerSec;
    if (ratePerSec === 0) {
      this.stop();
      return;
    }
    if (this.timer) return;
    this.lastTick = performance.now();
    this.carry.clear();
    this.timer = setInterval(() => this.tick(), this.deps.tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.carry.clear();
  }

  private tick(): void {
    const now = performance.now();
    const elapsedMs = Math.min(now - this.lastTick, MAX_CATCH_UP_MS);
    this.lastTick = now;
    const due = (this.rate * elapsedMs) / 1000;
    const topics = this.deps.topics();
    const nextCarry = new Map<string, number>();
    const plan: [string, number][] = [];
    for (const topic of topics) {
      // A topic that appeared since the last tick starts counting now.
      const previous = this.carry.get(topic);
      const total = previous === undefined ? 0 : previous + due;
      const count = Math.floor(total);
      nextCarry.set(topic, total - count);
      if (count > 0) plan.push([topic, count]);
    }
    this.carry = nextCarry;
    if (plan.length === 0) return;
    this.deps.beforeBatch();
    try {
      // Interleave topics so a batch is not one topic after another.
      let remaining = true;
      for (let round = 0; remaining; round++) {
        remaining = false;
        for (const [topic, count] of plan) {
          if (round < count) {
            this.deps.emit(topic);
            remaining = remaining || round + 1 < count;
          }
        }
      }
    } finally {
      this.deps.afterBatch();
    }
  }
}
