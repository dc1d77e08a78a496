import { createHash } from "node:crypto";

const INITIAL_SLOT_MS = 60 * 60 * 1000;

/**
 * The refresh slot a mint fills: the stored version it replaces, or (for a profile without any
 * readable token yet) the hour. A retried rotation of the same version lands in the same slot.
 */
export function refreshSlot(replacedVersion: string | undefined, nowMs: number): string {
  return replacedVersion === undefined
    ? `initial#${Math.floor(nowMs / INITIAL_SLOT_MS)}`
    : `replaces#${replacedVersion}`;
}

/**
 * Secrets Manager `ClientRequestToken` (32-64 chars) derived from profile + refresh slot, formatted as
 * an RFC 4122 name-based UUID so retries of the same rotation are idempotent and two writers that both
 * think they fill the same slot collide instead of both creating versions.
 */
export function clientRequestToken(profile: string, slot: string): string {
  const hex = createHash("sha256").update(`${profile}\n${slot}`, "utf8").digest("hex");
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `5${hex.slice(13, 16)}`,
    `${variant}${hex.slice(17, 20)}`,
    hex.slice(20, 32),
  ].join("-");
}
