import type { BrokerProfile } from "../../../shared/contracts.ts";
import { DEFAULT_TOKEN_LANES, laneTokenSecretName } from "../../../shared/token-lanes.ts";
import { BrokerError } from "./errors.ts";

/**
 * One lane of a profile's token: its own cached token (its own secret), its own single-flight lease and its
 * own audit records. Lane 0 is the profile's token as it was before lanes existed: same secret, same lease.
 */
export interface TokenLane {
  profile: BrokerProfile;
  lane: number;
  /** `SecretId` of this lane's token-cache secret (an ARN for lane 0, a name for the others in AWS). */
  secretId: string;
  /** Lease item key, memory-cache key and refresh-slot namespace: the profile name for lane 0. */
  key: string;
}

export function laneCount(profile: BrokerProfile): number {
  return profile.lanes ?? DEFAULT_TOKEN_LANES;
}

/**
 * Lane `lane` of `profile`. `secretPrefix` names the lane secrets in AWS (TOKEN_SECRET_NAME_PREFIX); without it
 * (in-memory stores only) lane n's secret id is derived from lane 0's.
 */
export function tokenLane(profile: BrokerProfile, lane: number, secretPrefix?: string): TokenLane {
  if (lane === 0) return { profile, lane, secretId: profile.tokenSecretArn, key: profile.name };
  const secretId = secretPrefix
    ? laneTokenSecretName(secretPrefix, profile.name, lane)
    : `${profile.tokenSecretArn}/lane-${lane}`;
  // '#' never occurs in a profile name, so no lane key collides with another profile's lane 0.
  return { profile, lane, secretId, key: `${profile.name}#lane-${lane}` };
}

const LANE_TEXT = /^(0|[1-9][0-9]{0,2})$/;

/**
 * A lane as the request sent it, not yet checked against a profile: absent (lane 0), query text, or a JSON body
 * value (which must be a number).
 */
export type RequestedLane = { given: false } | { given: true; raw: unknown; in: "query" | "body" };

/**
 * The lane number a request asked for, checked against the profile's lane count; `bad_request` for anything
 * else (not an integer, negative, or past the last lane).
 */
export function resolveRequestedLane(requested: RequestedLane, profile: BrokerProfile): number {
  if (!requested.given) return 0;
  const { raw } = requested;
  const lanes = laneCount(profile);
  let lane: number | undefined;
  if (requested.in === "query" && typeof raw === "string" && LANE_TEXT.test(raw)) lane = Number(raw);
  else if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) lane = raw;
  if (lane === undefined || lane >= lanes) {
    const shown = JSON.stringify(raw) ?? String(raw);
    throw new BrokerError(
      "bad_request",
      `lane must be an integer from 0 to ${lanes - 1} for this profile (got ${shown.slice(0, 24)})`,
    );
  }
  return lane;
}
