import type { MintedToken } from "./ports.ts";

export type TokenResponseParse = { ok: true; token: MintedToken } | { ok: false; problem: string };

/** The 200 body of an OAuth token endpoint. Problems are described without quoting the body. */
export function parseTokenResponse(text: string): TokenResponseParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: "token response is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, problem: "token response is not a JSON object" };
  }
  const {
    access_token: accessToken,
    expires_in: expiresIn,
    token_type: tokenType,
  } = value as Record<string, unknown>;
  if (typeof accessToken !== "string" || accessToken.length === 0) {
    return { ok: false, problem: "token response lacks access_token" };
  }
  const seconds = typeof expiresIn === "string" && expiresIn.trim() !== "" ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) {
    return { ok: false, problem: "token response lacks a positive expires_in" };
  }
  if (tokenType !== undefined && (typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer")) {
    return { ok: false, problem: "token response token_type is not bearer" };
  }
  return { ok: true, token: { accessToken, expiresInSeconds: seconds } };
}
