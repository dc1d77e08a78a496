import type { BrokerErrorCode } from "../../../shared/contracts.ts";

/** What a lease attempt found: this owner holds it now, or someone else does (possibly a failure cool-down). */
export type LeaseAttempt =
  | { acquired: true }
  | { acquired: false; heldUntilMs: number; failure?: LeaseFailureMark };

/**
 * A holder whose mint failed leaves the lease in place until `untilMs` with the failure code, so the
 * instances waiting on it fail fast (or fall back) instead of each calling the identity provider again.
 */
export interface LeaseFailureMark {
  code: BrokerErrorCode;
  untilMs: number;
}

export interface LeaseTimings {
  /** How long one holder may take to mint and store a token. */
  leaseMs: number;
  /** Cool-down after a transient identity-provider failure. */
  transientFailureCoolDownMs: number;
  /** Cool-down after a permanent one (`invalid_client`): operator action is needed anyway. */
  permanentFailureCoolDownMs: number;
}

export function leaseUntil(nowMs: number, timings: LeaseTimings): number {
  return nowMs + timings.leaseMs;
}

/** The identity provider must answer before the lease runs out, with a margin to store the token. */
export function mintDeadline(leaseUntilMs: number, timings: LeaseTimings): number {
  return leaseUntilMs - Math.min(2_000, Math.floor(timings.leaseMs / 5));
}

export function failureMark(
  code: BrokerErrorCode,
  permanent: boolean,
  nowMs: number,
  timings: LeaseTimings,
): LeaseFailureMark {
  const coolDown = permanent ? timings.permanentFailureCoolDownMs : timings.transientFailureCoolDownMs;
  return { code, untilMs: nowMs + coolDown };
}

/** A lease that is still running and carries a failure mark means: do not mint, report the failure. */
export function activeFailure(attempt: LeaseAttempt, nowMs: number): LeaseFailureMark | undefined {
  if (attempt.acquired || attempt.failure === undefined) return undefined;
  return attempt.failure.untilMs > nowMs ? attempt.failure : undefined;
}
