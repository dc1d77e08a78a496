import type { CachedToken } from "../../../shared/contracts.ts";
import { type LaneStagger, staggerDue } from "./lane-stagger.ts";
import { isRefreshDue, isUsable, type TokenPolicy } from "./token-policy.ts";

/**
 * What a caller needs from the broker:
 * - `handout`: `GET /token`, a token with at least the minimum validity, refreshed once due;
 * - `replace`: `POST /token/refresh`, compare-and-swap on a token a caller saw rejected;
 * - `rotate`: the scheduled refresh, a token that is not yet due (nor, for lanes after 0, past its stagger point).
 */
export type TokenNeed =
  | { kind: "handout" }
  | { kind: "replace"; rejectedFingerprint: string }
  | { kind: "rotate"; stagger?: LaneStagger };

export function needKey(need: TokenNeed): string {
  return need.kind === "replace" ? `replace:${need.rejectedFingerprint}` : need.kind;
}

export type CompareAndSwapDecision = "return-current" | "mint";

/**
 * `POST /token/refresh`: mint only if the current token is the one the caller saw rejected (or is no
 * longer usable anyway); a caller reporting an older token gets the current one.
 */
export function decideCompareAndSwap(
  current: CachedToken | undefined,
  rejectedFingerprint: string,
  nowMs: number,
  policy: TokenPolicy,
): CompareAndSwapDecision {
  if (current === undefined) return "mint";
  if (current.fingerprint === rejectedFingerprint) return "mint";
  return isUsable(current, nowMs, policy) ? "return-current" : "mint";
}

/** The token meets the need as is: no mint required. */
export function satisfies(need: TokenNeed, token: CachedToken, nowMs: number, policy: TokenPolicy): boolean {
  switch (need.kind) {
    case "handout":
      return !isRefreshDue(token, nowMs, policy);
    case "replace":
      return decideCompareAndSwap(token, need.rejectedFingerprint, nowMs, policy) === "return-current";
    case "rotate":
      return !isRefreshDue(token, nowMs, policy) && !staggerDue(token, need.stagger, nowMs);
  }
}

/**
 * The token may still be returned when a refresh cannot happen right now (minting failed, or another
 * instance holds the lease): it is never below the minimum validity and never the rejected one.
 */
export function acceptableAsFallback(
  need: TokenNeed,
  token: CachedToken,
  nowMs: number,
  policy: TokenPolicy,
): boolean {
  if (need.kind === "replace") return satisfies(need, token, nowMs, policy);
  return isUsable(token, nowMs, policy);
}

/** Why a mint happens, for the audit trail. */
export function mintReason(
  need: TokenNeed,
  previous: CachedToken | undefined,
  nowMs: number,
  policy: TokenPolicy,
): string {
  if (need.kind === "replace") return `replaces rejected ${need.rejectedFingerprint}`;
  if (previous === undefined)
    return need.kind === "rotate" ? "scheduled; no cached token" : "no cached token";
  if (need.kind === "handout") return `replaces due ${previous.fingerprint}`;
  const staggered = need.stagger && !isRefreshDue(previous, nowMs, policy) ? " (lane stagger)" : "";
  return `scheduled${staggered}; replaces ${previous.fingerprint}`;
}
