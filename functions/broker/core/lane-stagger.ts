import type { CachedToken } from "../../../shared/contracts.ts";
import type { TokenPolicy } from "./token-policy.ts";

/**
 * When lane n of `lanes` should be re-issued: on the grid `anchorMs + offsetMs + k x periodMs`, where the anchor is
 * lane 0's issue time, the period lane 0's refresh interval (lifetime x refreshAtFraction) and the offset
 * n/lanes of it. Lanes issued together (the first hand-out mints every lane at once) drift apart on their first
 * scheduled rotation and then stay apart, so no two lanes of a profile rotate or expire together.
 */
export interface LaneStagger {
  anchorMs: number;
  periodMs: number;
  offsetMs: number;
  /** A lane token younger than this is never re-issued for the stagger alone (half the gap between lanes). */
  minAgeMs: number;
}

/** The stagger of lane `lane` of `lanes`, anchored on lane 0's current token; undefined for lane 0 itself. */
export function laneStagger(
  laneZero: CachedToken,
  lane: number,
  lanes: number,
  policy: TokenPolicy,
): LaneStagger | undefined {
  if (lane === 0 || lanes < 2) return undefined;
  const anchorMs = Date.parse(laneZero.issuedAt);
  const lifetimeMs = Date.parse(laneZero.expiresAt) - anchorMs;
  if (!Number.isFinite(anchorMs) || !(lifetimeMs > 0)) return undefined;
  const periodMs = lifetimeMs * policy.refreshAtFraction;
  return { anchorMs, periodMs, offsetMs: (periodMs * lane) / lanes, minAgeMs: periodMs / (2 * lanes) };
}

/** The first grid point at least `minAgeMs` after the token was issued: when the stagger wants it replaced. */
export function staggeredRotationAtMs(token: CachedToken, stagger: LaneStagger): number {
  const issuedMs = Date.parse(token.issuedAt);
  const base = stagger.anchorMs + stagger.offsetMs;
  const k = Math.ceil((issuedMs + stagger.minAgeMs - base) / stagger.periodMs);
  return base + k * stagger.periodMs;
}

/** The stagger asks for this lane's token to be re-issued now (its natural refresh point is checked apart). */
export function staggerDue(token: CachedToken, stagger: LaneStagger | undefined, nowMs: number): boolean {
  if (!stagger) return false;
  return nowMs >= staggeredRotationAtMs(token, stagger);
}
