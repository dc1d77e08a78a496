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
  /**
   * How long the replaced session keeps delivering after its replacement is live. The rotation starts early
   * enough that the drain, plus a tenth of the life for building the replacement, ends before the old
   * session's token or channel does. Default 0.
   */
  drainMs?: number;
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
  const endMs = Math.min(input.tokenExpiresAtMs, input.channelExpiresAtMs ?? Number.POSITIVE_INFINITY);
  const lifeMs = endMs - (input.tokenIssuedAtMs ?? input.liveAtMs);
  const drainMs = input.drainMs ?? 0;
  const latestMs = drainMs > 0 && Number.isFinite(lifeMs) ? endMs - drainMs - lifeMs / 10 : at;
  // Never earlier than halfway to the usual plan: a drain longer than the life cannot fit anyway.
  const earliestMs = input.liveAtMs + Math.max(input.minLifeMs, (at - input.liveAtMs) / 2);
  return { atMs: Math.max(Math.min(at, latestMs), earliestMs), needsNewToken };
}
