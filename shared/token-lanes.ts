/**
 * Token lanes (issue #10): the broker serves each profile's token in lanes, so redundant worker sessions
 * (slot i asks for lane i) hold distinct tokens, minted and rotated at staggered times. A token that is
 * revoked or expires then silences one session, never all of them at once.
 */

/** Lanes per profile when the configuration does not say: the default worker redundancy. */
export const DEFAULT_TOKEN_LANES = 2;
/** The worker allows REDUNDANCY up to 10; a profile never needs more lanes than that. */
export const MAX_TOKEN_LANES = 10;

/**
 * Name of lane `lane`'s token-cache secret (lanes 1 and up; lane 0 keeps the profile's own secret). The broker
 * derives it from one prefix instead of carrying an ARN per lane in its environment (Lambda's 4 KiB limit).
 */
export function laneTokenSecretName(prefix: string, profile: string, lane: number): string {
  return `${prefix}/${profile}/lane-${lane}`;
}
