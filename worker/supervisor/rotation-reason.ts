/**
 * Pure helpers for planned rotations: when a live session should be replaced, and whether the
 * replacement needs a different token (token-driven) or only a new channel (channel-driven).
 */
import { planRotationAt } from "../core/rotation-plan.ts";

export interface PlannedRotation {
  atMs: number;
  /** True when the token's life, not the channel's, ends first: the replacement must use a newer token. */
  needsNewToken: boolean;
}

export interface PlanInput {
  liveAtMs: number;
  tokenIssuedAtMs: number | undefined;
  tokenExpiresAtMs: number;
  channelExpiresAtMs: number | undefined;
  sessionIndex: number;
  redundancy: number;
  refreshFraction: number;
  jitterMs: number;
  /** A session is never rotated sooner than this after it went live (no rotation loop on short-lived tokens). */
  minLifeMs: number;
}

export function planRotation(input: PlanInput, random: () => number = Math.random): PlannedRotation {
  const at = planRotationAt(
    {
      issuedAtMs: input.tokenIssuedAtMs ?? input.liveAtMs,
      expiresAtMs: input.tokenExpiresAtMs,
      channelExpiresAtMs: input.channelExpiresAtMs,
      sessionIndex: input.sessionIndex,
      redundancy: input.redundancy,
      refreshFraction: input.refreshFraction,
      jitterMs: input.jitterMs,
      notBeforeMs: input.liveAtMs,
    },
    random,
  );
  const needsNewToken =
    input.channelExpiresAtMs === undefined || input.tokenExpiresAtMs <= input.channelExpiresAtMs;
  return { atMs: Math.max(at, input.liveAtMs + input.minLifeMs), needsNewToken };
}
