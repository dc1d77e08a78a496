/**
 * The one close/failure policy table of the worker (DESIGN.md section 4).
 * Pure: maps what went wrong with a session to what the supervisor does next.
 */
import type { StreakKind } from "./failure-streak.ts";

export type SessionFailure =
  | { kind: "close"; code: number; reason?: string }
  | { kind: "upgrade-rejected"; status: number; retryAfterSec?: number }
  | { kind: "network"; message: string }
  | {
      kind: "rest-error";
      status: number;
      retryAfterSec?: number;
      /** Genesys' error `code` and `message` (never a token), for logs and failure records. */
      upstreamCode?: string;
      upstreamMessage?: string;
      /** From the periodic channel probe of a live session (its events may have stopped long before). */
      probe?: true;
    }
  | { kind: "idp-permanent" }
  | { kind: "watchdog" }
  | { kind: "channel-dead" }
  | { kind: "socket-closing" };

/**
 * - `refresh-token-then-reconnect`: report the rejected token to the broker's compare-and-swap refresh, then
 *   build a new session (through the backoff: a token that keeps being refused must not become a tight loop).
 * - `reconnect-with-backoff`: wait `FullJitterBackoff.nextDelayMs(minDelayMs)`, then build a new session.
 * - `rotate-now`: the session still delivers (or just announced its end): start its replacement now,
 *   make-before-break, without waiting for backoff. Failures of the replacement go through this table again.
 * - `stop-session`: do not replace this session; raise an alarm; the other sessions keep running.
 */
export type PolicyAction =
  | "refresh-token-then-reconnect"
  | "reconnect-with-backoff"
  | "rotate-now"
  | "stop-session";

export interface PolicyDecision {
  action: PolicyAction;
  alarm: boolean;
  reason: string;
  /** Lower bound for the next delay, in ms. */
  minDelayMs?: number;
  /** The upstream's Retry-After, in ms: wait exactly this long (no longer, no shorter). */
  retryAfterMs?: number;
  /**
   * Retried, but only a bounded number of times in a row (the slot's FailureStreak of this kind): the same
   * request answered the same way again and again is a loop, not a transient fault.
   */
  streak?: StreakKind;
}

export type PolicyRule = Omit<PolicyDecision, "minDelayMs" | "retryAfterMs">;

const refresh = (reason: string): PolicyRule => ({
  action: "refresh-token-then-reconnect",
  alarm: false,
  reason,
});
const backoff = (reason: string, alarm = false): PolicyRule => ({
  action: "reconnect-with-backoff",
  alarm,
  reason,
});
/** A 400 may be transient (e.g. the channel limit while another consumer holds channels), but not forever. */
const bounded = (reason: string, streak: StreakKind): PolicyRule => ({
  action: "reconnect-with-backoff",
  alarm: true,
  reason,
  streak,
});
const rotate = (reason: string): PolicyRule => ({ action: "rotate-now", alarm: false, reason });
const stop = (reason: string): PolicyRule => ({ action: "stop-session", alarm: true, reason });

/**
 * The table. Keys are `close:<code>`, `upgrade:<status>`, `rest:<status>`, classes `upgrade:5xx`/`rest:5xx`,
 * `close:*`/`upgrade:*`/`rest:*` for anything not listed, and the bare failure kinds.
 */
export const FAILURE_POLICY_TABLE: Readonly<Record<string, PolicyRule>> = Object.freeze({
  "close:4001": refresh("token_expired_close_4001"),
  "close:1008": refresh("policy_violation_close_1008"),
  "close:1000": backoff("normal_close_1000"),
  "close:1001": backoff("going_away_close_1001"),
  "close:1006": backoff("abnormal_close_1006"),
  "close:1011": backoff("server_error_close_1011"),
  "close:1012": backoff("service_restart_close_1012"),
  "close:1013": backoff("try_again_later_close_1013"),
  "close:*": backoff("unknown_close_code"),
  "upgrade:401": refresh("upgrade_rejected_401"),
  "upgrade:403": stop("upgrade_forbidden_403"),
  "upgrade:429": backoff("upgrade_throttled_429"),
  "upgrade:5xx": backoff("upgrade_server_error"),
  "upgrade:*": backoff("upgrade_rejected_unexpected", true),
  "rest:401": refresh("rest_unauthorized_401"),
  "rest:400": bounded("rest_bad_request_400", "bad-request"),
  "rest:403": stop("rest_forbidden_403"),
  "rest:429": backoff("rest_throttled_429"),
  "rest:5xx": backoff("rest_server_error"),
  "rest:*": backoff("rest_error_unexpected", true),
  network: backoff("network_error"),
  watchdog: backoff("watchdog_timeout"),
  "idp-permanent": stop("idp_permanent_failure"),
  "socket-closing": rotate("socket_closing_announced"),
  "channel-dead": rotate("channel_dead"),
});

/** The table keys tried for a failure, most specific first. */
export function policyKeys(f: SessionFailure): string[] {
  switch (f.kind) {
    case "close":
      return [`close:${f.code}`, "close:*"];
    case "upgrade-rejected":
      return statusKeys("upgrade", f.status);
    case "rest-error":
      return statusKeys("rest", f.status);
    default:
      return [f.kind];
  }
}

function statusKeys(prefix: string, status: number): string[] {
  const keys = [`${prefix}:${status}`];
  if (status >= 500 && status <= 599) keys.push(`${prefix}:5xx`);
  keys.push(`${prefix}:*`);
  return keys;
}

const FALLBACK: PolicyRule = backoff("unclassified_failure", true);

/**
 * The decision once the slot's streak of this failure kind is counted: at the limit, a bounded retry turns
 * into a permanent stop (with an alarm).
 */
export function boundedDecision(d: PolicyDecision, consecutive: number, limit: number): PolicyDecision {
  if (d.streak === undefined || consecutive < limit) return d;
  return { action: "stop-session", alarm: true, reason: `${d.reason}_x${consecutive}`, streak: d.streak };
}

export function decideOnFailure(f: SessionFailure): PolicyDecision {
  let rule = FALLBACK;
  for (const key of policyKeys(f)) {
    const found = FAILURE_POLICY_TABLE[key];
    if (found) {
      rule = found;
      break;
    }
  }
  const decision: PolicyDecision = { ...rule };
  if (
    (f.kind === "rest-error" || f.kind === "upgrade-rejected") &&
    f.retryAfterSec !== undefined &&
    Number.isFinite(f.retryAfterSec)
  ) {
    decision.minDelayMs = Math.max(0, Math.round(f.retryAfterSec * 1000));
    decision.retryAfterMs = decision.minDelayMs;
  }
  return decision;
}
