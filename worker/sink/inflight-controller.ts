/**
 * How many SendMessageBatch calls the sink keeps in flight: an AIMD controller driven by what SQS answers.
 *
 * - Ramp up: while the sink uses its window (more than half of it in flight when an answer comes back), each
 *   successful round trip adds one slot per round trip of the current window; until the first congestion
 *   signal the window doubles per round trip instead (slow start), so a task reaches the throughput a 20 ms
 *   or a 200 ms SQS allows within a few round trips, whatever the latency.
 * - Back off: a throttled batch (or entries failed as throttled) halves the window; a round trip much slower
 *   than the fastest one seen recently (the latency target: `latencyTolerance` x baseline + `latencySlackMs`)
 *   shrinks it by a tenth. At most one decrease per round trip, so one burst of throttled answers to batches
 *   sent together counts once.
 * - Bounded by `min` and `max` (environment/CDK config), and never grows while the sink is not using it.
 *
 * Pure: no timers, no I/O; the clock is injected.
 */

export interface InflightLimits {
  /** Fewest batches in flight, also the starting window unless `initial` says otherwise. */
  min: number;
  /** Most batches in flight. */
  max: number;
  initial?: number;
}

export interface InflightControllerOptions extends InflightLimits {
  now: () => number;
  /** A round trip slower than `latencyTolerance` x the baseline (+ slack) counts as congestion. Default 4. */
  latencyTolerance?: number;
  /** Absolute slack on the latency target, so a 1 ms baseline does not make 5 ms "congested". Default 50 ms. */
  latencySlackMs?: number;
  /** The baseline is the fastest round trip within this window. Default 30 s. */
  baselineWindowMs?: number;
}

export type SendOutcome = "ok" | "throttled" | "failed";

export interface SendSample {
  outcome: SendOutcome;
  latencyMs: number;
  /** Batches in flight when this answer came back, itself included. */
  inFlight: number;
}

export const DEFAULT_INFLIGHT_MIN = 2;
export const DEFAULT_INFLIGHT_MAX = 64;

export function validateInflightLimits(limits: InflightLimits): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(limits.min) || limits.min < 1) problems.push("min must be an integer >= 1");
  if (!Number.isInteger(limits.max) || limits.max < limits.min)
    problems.push("max must be an integer >= min");
  if (limits.initial !== undefined && !(limits.initial >= limits.min && limits.initial <= limits.max)) {
    problems.push("initial must lie between min and max");
  }
  return problems;
}

export class InflightController {
  readonly min: number;
  readonly max: number;
  readonly #now: () => number;
  readonly #tolerance: number;
  readonly #slackMs: number;
  readonly #baselineWindowMs: number;
  #window: number;
  #slowStart = true;
  /** No decrease before this time: the batches in flight when we last decreased were sent before it. */
  #holdDecreaseUntilMs = Number.NEGATIVE_INFINITY;
  #baselineMs: number | undefined;
  #baselineAtMs = 0;
  #smoothedMs: number | undefined;

  constructor(opts: InflightControllerOptions) {
    const problems = validateInflightLimits(opts);
    if (problems.length > 0) throw new RangeError(`InflightController: ${problems.join("; ")}`);
    this.min = opts.min;
    this.max = opts.max;
    this.#now = opts.now;
    this.#tolerance = opts.latencyTolerance ?? 4;
    this.#slackMs = opts.latencySlackMs ?? 50;
    this.#baselineWindowMs = opts.baselineWindowMs ?? 30_000;
    this.#window = opts.initial ?? opts.min;
  }

  /** Batches the sink may have in flight now. */
  limit(): number {
    return Math.floor(this.#window);
  }

  /** Smoothed round-trip time of successful calls, once there is one. */
  latencyMs(): number | undefined {
    return this.#smoothedMs;
  }

  record(sample: SendSample): void {
    const now = this.#now();
    if (sample.outcome === "throttled") {
      this.#decrease(now, 0.5, sample.latencyMs);
      return;
    }
    if (sample.outcome === "failed") return; // not a capacity signal: the sink's own backoff handles it
    const latency = Math.max(0, sample.latencyMs);
    this.#smoothedMs = this.#smoothedMs === undefined ? latency : 0.8 * this.#smoothedMs + 0.2 * latency;
    this.#updateBaseline(now, latency);
    if (latency > this.#latencyTargetMs()) {
      this.#decrease(now, 0.9, latency);
      return;
    }
    // Not using half the window: more slots would change nothing (and could not be trusted later).
    if (sample.inFlight * 2 <= this.#window) return;
    const step = this.#slowStart ? 1 : 1 / this.#window;
    this.#window = Math.min(this.max, this.#window + step);
  }

  #latencyTargetMs(): number {
    return (this.#baselineMs ?? Number.POSITIVE_INFINITY) * this.#tolerance + this.#slackMs;
  }

  #updateBaseline(now: number, latency: number): void {
    const stale = now - this.#baselineAtMs > this.#baselineWindowMs;
    if (this.#baselineMs === undefined || latency <= this.#baselineMs || stale) {
      this.#baselineMs = latency;
      this.#baselineAtMs = now;
    }
  }

  #decrease(now: number, factor: number, latencyMs: number): void {
    this.#slowStart = false;
    if (now < this.#holdDecreaseUntilMs) return;
    this.#window = Math.max(this.min, this.#window * factor);
    this.#holdDecreaseUntilMs = now + Math.max(1, latencyMs, this.#smoothedMs ?? 0);
  }
}
