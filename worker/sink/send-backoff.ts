/**
 * When the sink may send again after SQS said no, in two scopes:
 * - the whole sink: a failing SQS (network, 5xx, access denied, missing queue, an offload failing). The
 *   sink is then `failing` (unhealthy; new messages go to the spool) and sends nothing until the pause ends.
 * - one lane (a FIFO message group): a throttled batch. Throttling is SQS asking for fewer requests, not a
 *   failure: the in-flight controller narrows the window, only the throttled lanes wait (full-jitter
 *   exponential per lane, reset by the lane's next success), and every other lane keeps being sent.
 *
 * Pure: no timers, no I/O; the clock and randomness are injected.
 */
import { type BackoffOptions, FullJitterBackoff } from "../core/backoff.ts";
import type { SinkLogger } from "./sink-ports.ts";

/** Error codes that mean SQS wants fewer requests, not that something is broken. */
const THROTTLED = /throttl|overlimit|requestlimit|slowdown|toomanyrequests/i;

export function isThrottle(code: string): boolean {
  return THROTTLED.test(code);
}

/** Lanes whose throttle count is kept at most; beyond it the oldest is forgotten (it restarts at 1). */
const MAX_TRACKED_LANES = 10_000;

export interface SendBackoffOptions extends BackoffOptions {
  now: () => number;
  random?: () => number;
  log: SinkLogger;
}

export class SendBackoff {
  readonly #sink: FullJitterBackoff;
  readonly #now: () => number;
  readonly #log: SinkLogger;
  /** Consecutive throttled batches per lane. */
  readonly #laneThrottles = new Map<string, number>();
  #failing = false;
  #pausedUntilMs = 0;

  constructor(opts: SendBackoffOptions) {
    const { now, random = Math.random, log, ...backoff } = opts;
    this.#sink = new FullJitterBackoff(
      { baseMs: 100, capMs: 5_000, resetAfterStableMs: 5_000, ...backoff },
      random,
      now,
    );
    this.#now = now;
    this.#log = log;
  }

  /** SQS is failing (not throttling): the sink backs off as a whole. */
  failing(): boolean {
    return this.#failing;
  }

  /** Until when the whole sink sends nothing (in the past: not paused). */
  pausedUntilMs(): number {
    return this.#pausedUntilMs;
  }

  /** A call failed for a reason that is not throttling: pause the sink, mark it failing. */
  failed(what: string, code: string): void {
    const delay = this.#sink.nextDelayMs();
    this.#pausedUntilMs = Math.max(this.#pausedUntilMs, this.#now() + delay);
    if (!this.#failing) {
      this.#log.warn("SQS delivery failing; backing off and spooling new messages", {
        code: what,
        error: code,
      });
    } else {
      this.#log.debug("SQS delivery still failing", { code: what, error: code, delayMs: delay });
    }
    this.#failing = true;
  }

  /** A batch of these lanes was throttled: the time before which they are not sent again. */
  throttled(lanes: Iterable<string>): number {
    let worst = 0;
    for (const lane of lanes) {
      const n = this.#laneThrottles.get(lane) ?? 0;
      this.#laneThrottles.delete(lane); // re-inserted last: the map's order is least recently throttled first
      this.#laneThrottles.set(lane, n + 1);
      worst = Math.max(worst, n);
    }
    while (this.#laneThrottles.size > MAX_TRACKED_LANES) {
      this.#laneThrottles.delete(this.#laneThrottles.keys().next().value as string);
    }
    // Per lane: the lane's own count of throttles in a row, not the sink's failure count.
    return this.#now() + this.#sink.delayForAttempt(worst);
  }

  /** SQS accepted (or definitively answered) a batch of these lanes. */
  succeeded(lanes: Iterable<string>, depth: () => number): void {
    for (const lane of lanes) this.#laneThrottles.delete(lane);
    if (!this.#failing) return;
    this.#failing = false;
    this.#sink.connected();
    this.#log.info("SQS delivery recovered", { code: "sqs_recovered", depth: depth() });
  }
}
