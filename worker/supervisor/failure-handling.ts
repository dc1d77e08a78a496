/**
 * The supervisor's failure handling that neither loops nor gives up too early: a session failure decided by
 * the policy table and counted against the slot's streak (400s are bounded), token-source errors (broker
 * 403/404 retried with an alarm each time, then bounded; Retry-After waited out exactly), a live channel
 * that keeps dying (quota eviction by another consumer: back off), and the permanent stop of a slot.
 * Decides, logs and counts; the supervisor schedules what it returns.
 */
import {
  boundedDecision,
  decideOnFailure,
  type PolicyDecision,
  type SessionFailure,
} from "../core/close-policy.ts";
import { MAX_CHANNELS_PER_CLIENT } from "../source/genesys-limits.ts";
import type { Session } from "../source/session.ts";
import { isPermanentTokenError, isTokenRefusal, TokenSourceError } from "../token/token-source.ts";
import { type FailureDetail, failureDetail, stopReason, tokenErrorDetail } from "./failure-detail.ts";
import type { Slot } from "./slot.ts";
import type { WorkerStats } from "./stats.ts";
import type { SupervisorLog, SupervisorMetrics } from "./supervisor-types.ts";

export type SessionRole = "candidate" | "active" | "retired";

export interface FailureHandlingDeps {
  log: SupervisorLog;
  metrics: SupervisorMetrics;
  stats: WorkerStats;
  /** Genesys channels one session holds (one per 1,000 topics). */
  channelsPerSession: number;
}

/**
 * The upstream's Retry-After exactly when it sent one (the attempt counts for the backoff either way);
 * one below the backoff base (e.g. 0) gets the backoff instead, which is never shorter: a server that keeps
 * answering "retry now" must not cause a tight loop.
 */
export function delayAfter(slot: Slot, retryAfterMs: number | undefined): number {
  const backoffMs = slot.backoff.nextDelayMs(retryAfterMs);
  return retryAfterMs !== undefined && retryAfterMs >= slot.backoff.baseMs ? retryAfterMs : backoffMs;
}

/** Genesys channels held now: every slot's active, candidate and draining sessions. */
export function channelsHeld(slots: readonly Slot[], channelsPerSession: number): number {
  let sessions = 0;
  for (const sl of slots) sessions += (sl.active ? 1 : 0) + (sl.candidate ? 1 : 0) + sl.draining.size;
  return sessions * channelsPerSession;
}

export class FailureHandling {
  constructor(private readonly deps: FailureHandlingDeps) {}

  /**
   * The policy decision for a session failure, logged. A bounded failure (e.g. 400) of a session that still
   * counts for its slot (`counted`) is added to the slot's streak; at its limit the decision is to stop.
   */
  decide(
    slot: Slot,
    s: Session,
    role: SessionRole,
    f: SessionFailure,
    counted: boolean,
  ): { d: PolicyDecision; detail: FailureDetail } {
    let d = decideOnFailure(f);
    const step = d.streak !== undefined && counted ? slot.failures.record(d.streak) : undefined;
    if (step) d = boundedDecision(d, step.count, step.limit);
    const detail = failureDetail(f);
    this.deps.log[d.alarm ? "error" : "warn"]("session failure", {
      slot: slot.label,
      session: s.id,
      role,
      ...detail,
      ...(d.retryAfterMs !== undefined ? { retryAfterMs: d.retryAfterMs } : {}),
      ...(step ? { consecutive: step.count, limit: step.limit } : {}),
      action: d.action,
      reason: d.reason,
      alarm: d.alarm,
    });
    return { d, detail };
  }

  /**
   * A token could not be had. Permanent errors stop the slot; a bare broker 403/404 is retried with an
   * alarm each time and stops the slot only after a bounded number in a row; anything else backs off
   * (Retry-After waited out exactly). Returns the delay before the next attempt, undefined once stopped.
   */
  tokenError(slot: Slot, err: unknown): number | undefined {
    const code = err instanceof TokenSourceError ? err.code : "token_error";
    if (isPermanentTokenError(err)) {
      this.stop(slot, `token source: ${code}`, tokenErrorDetail(err));
      return undefined;
    }
    slot.backoff.failed();
    const delayMs = delayAfter(slot, err instanceof TokenSourceError ? err.retryAfterMs : undefined);
    if (!isTokenRefusal(err)) {
      this.deps.log.warn("token unavailable, backing off", { slot: slot.label, code, delayMs });
      return delayMs;
    }
    const step = slot.failures.record("token-refused");
    this.deps.metrics.count("TokenRefusals");
    if (step.exhausted) {
      this.stop(slot, `token source: ${code} (${step.count} in a row)`, {
        ...tokenErrorDetail(err),
        consecutive: step.count,
      });
      return undefined;
    }
    // ALARM: the broker refused this worker (clock skew, IAM propagating, a deploy): retried, not yet fatal.
    this.deps.log.error("token source refused the request; retrying with backoff", {
      code: "token_refused",
      alarm: true,
      slot: slot.label,
      ...tokenErrorDetail(err),
      consecutive: step.count,
      limit: step.limit,
      delayMs,
    });
    return delayMs;
  }

  /**
   * A live session's channel died before its expiry. Once is normal: undefined, rotate now. Again within the
   * window means channels are being evicted at the 20-per-client quota, with this worker within the limit
   * by another consumer of the same OAuth client; evicting it back at once would make both loop, so the
   * slot backs off (exponential, jittered) with an alarm: returns that delay.
   */
  channelDeath(slot: Slot, s: Session, slots: readonly Slot[]): number | undefined {
    const held = channelsHeld(slots, this.deps.channelsPerSession);
    const cause =
      held <= MAX_CHANNELS_PER_CLIENT ? "another_consumer_on_oauth_client" : "own_channels_over_limit";
    const step = slot.failures.channelDead();
    const fields = {
      slot: slot.label,
      session: s.id,
      deathsInWindow: step.deathsInWindow,
      channelsHeld: held,
      channelLimit: MAX_CHANNELS_PER_CLIENT,
      cause,
    };
    if (step.delayMs === 0) {
      this.deps.log.warn("channel died before its expiry; rotating", { code: "channel_dead", ...fields });
      return undefined;
    }
    this.deps.metrics.count("ChannelEvictions");
    // ALARM: stable log code for metric filters; the operator's question is who else uses this OAuth client.
    this.deps.log.error("channels keep dying (quota eviction?): backing off instead of evicting back", {
      code: "channel_eviction_backoff",
      alarm: true,
      ...fields,
      delayMs: step.delayMs,
    });
    return step.delayMs;
  }

  /** The permanent-failure record: reason with the upstream's code and message, never a token. */
  stop(slot: Slot, reason: string, detail: FailureDetail | Record<string, unknown> = {}): void {
    if (slot.stopped) return;
    slot.stopped = true;
    this.deps.stats.stoppedSlots++;
    clearTimeout(slot.retryTimer);
    clearTimeout(slot.rotationTimer);
    slot.retryTimer = slot.rotationTimer = undefined;
    slot.candidate?.close();
    this.deps.metrics.count("SessionsStopped");
    // ALARM: a permanent failure; the other slots keep running. Log code is stable for metric filters.
    this.deps.log.error("session stopped after permanent failure", {
      code: "session_stopped",
      alarm: true,
      slot: slot.label,
      ...detail,
      reason: stopReason(reason, detail),
    });
  }
}
