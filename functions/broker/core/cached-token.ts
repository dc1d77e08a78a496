import type { CachedToken } from "../../../shared/contracts.ts";
import { fingerprint } from "../../../shared/fingerprint.ts";

/** Parses a stored token; anything that is not a consistent CachedToken is undefined, never a crash. */
export function parseCachedToken(text: string | undefined): CachedToken | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { accessToken, expiresAt, issuedAt, fingerprint: print } = value as Record<string, unknown>;
  if (typeof accessToken !== "string" || accessToken.length === 0) return undefined;
  if (typeof expiresAt !== "string" || Number.isNaN(Date.parse(expiresAt))) return undefined;
  if (typeof issuedAt !== "string" || Number.isNaN(Date.parse(issuedAt))) return undefined;
  if (typeof print !== "string" || print !== fingerprint(accessToken)) return undefined;
  return { accessToken, expiresAt, issuedAt, fingerprint: print };
}

export function serializeCachedToken(token: CachedToken): string {
  return JSON.stringify({
    accessToken: token.accessToken,
    expiresAt: token.expiresAt,
    issuedAt: token.issuedAt,
    fingerprint: token.fingerprint,
  });
}
