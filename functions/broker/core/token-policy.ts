import type { CachedToken } from "../../../shared/contracts.ts";

/** When to refresh and what may be handed out, as fractions of a token's lifetime. */
export interface TokenPolicy {
  /** Refresh once this fraction of the lifetime has elapsed (default 0.75). */
  refreshAtFraction: number;
  /** Never hand out a token with less than this fraction of its lifetime left (default 0.25). */
  minValidityFraction: number;
}

function lifetimeMs(token: CachedToken): number {
  return Date.parse(token.expiresAt) - Date.parse(token.issuedAt);
}

export function remainingMs(token: CachedToken, nowMs: number): number {
  return Date.parse(token.expiresAt) - nowMs;
}

/** The token still has at least the minimum validity left, so it may be handed out. */
export function isUsable(token: CachedToken, nowMs: number, policy: TokenPolicy): boolean {
  const lifetime = lifetimeMs(token);
  if (!(lifetime > 0)) return false;
  return remainingMs(token, nowMs) >= lifetime * policy.minValidityFraction;
}

/** The token has reached its refresh point (or is unusable anyway). */
export function isRefreshDue(token: CachedToken, nowMs: number, policy: TokenPolicy): boolean {
  const lifetime = lifetimeMs(token);
  if (!(lifetime > 0)) return true;
  const issued = Date.parse(token.issuedAt);
  return nowMs >= issued + lifetime * policy.refreshAtFraction || !isUsable(token, nowMs, policy);
}

/** Epoch ms at which the token becomes due for refresh. */
export function refreshDueAtMs(token: CachedToken, policy: TokenPolicy): number {
  const issued = Date.parse(token.issuedAt);
  return issued + lifetimeMs(token) * policy.refreshAtFraction;
}
