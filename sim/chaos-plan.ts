/**
 * The seeded chaos schedule (pure): when the next fault happens and of which kind. Kinds come in cycles,
 * each cycle a seeded shuffle of every enabled kind, so over N cycles every kind fires N times; gaps
 * between faults are uniform in [0.5, 1.5] x meanIntervalMs. The same seed gives the same schedule.
 */
import { Random } from "./random.ts";

export const CHAOS_FAULT_KINDS = [
  "drop",
  "halfOpen",
  "kick",
  "socketClosing",
  "maintenance",
  "http429",
  "http5xx",
  "slowToken",
  "subscriptionDelay",
  "channelLag",
  "evict",
  "forbidTopic",
  "revokeSilently",
  "largeEvents",
  "identical",
  "correlation",
] as const;

export type ChaosFaultKind = (typeof CHAOS_FAULT_KINDS)[number];

export interface ChaosPlanOptions {
  seed: number;
  /** Mean time between two faults. Default 3000 ms. */
  meanIntervalMs?: number;
  /** Kinds to use. Default all. */
  kinds?: readonly ChaosFaultKind[];
}

export interface PlannedFault {
  /** Ms after the schedule started. */
  atMs: number;
  kind: ChaosFaultKind;
}

export class ChaosPlan {
  private readonly random: Random;
  private readonly kinds: ChaosFaultKind[];
  private readonly meanIntervalMs: number;
  private cycle: ChaosFaultKind[] = [];
  private atMs = 0;

  constructor(options: ChaosPlanOptions) {
    if (!Number.isInteger(options.seed))
      throw new RangeError(`chaos seed must be an integer, got ${options.seed}`);
    this.meanIntervalMs = options.meanIntervalMs ?? 3000;
    if (!Number.isFinite(this.meanIntervalMs) || this.meanIntervalMs <= 0)
      throw new RangeError("chaos meanIntervalMs must be > 0");
    this.kinds = [...new Set(options.kinds ?? CHAOS_FAULT_KINDS)];
    for (const kind of this.kinds) {
      if (!CHAOS_FAULT_KINDS.includes(kind)) throw new RangeError(`unknown chaos fault kind ${kind}`);
    }
    if (this.kinds.length === 0) throw new RangeError("chaos needs at least one fault kind");
    this.random = new Random(options.seed);
  }

  next(): PlannedFault {
    if (this.cycle.length === 0) this.cycle = this.shuffled();
    this.atMs += Math.round(this.meanIntervalMs * (0.5 + this.random.next()));
    return { atMs: this.atMs, kind: this.cycle.shift()! };
  }

  /** The first `n` faults (for a report or a test), without disturbing this plan. */
  static preview(options: ChaosPlanOptions, n: number): PlannedFault[] {
    const plan = new ChaosPlan(options);
    return Array.from({ length: n }, () => plan.next());
  }

  private shuffled(): ChaosFaultKind[] {
    const out = [...this.kinds];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
