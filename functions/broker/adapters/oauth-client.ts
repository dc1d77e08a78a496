import { IdpError } from "../core/errors.ts";
import type { ClientCredentials, Clock, IdentityProvider, MintedToken } from "../core/ports.ts";
import { parseTokenResponse } from "../core/token-response.ts";

export interface OAuthClientOptions {
  clock: Clock;
  /** Per-attempt timeout (IDP_TIMEOUT_MS). */
  timeoutMs: number;
  maxAttempts?: number;
  /** Full-jitter backoff: sleep random(0, min(maxBackoffMs, baseBackoffMs * 2^attempt)). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest `Retry-After` honoured; longer ones end the attempt series as rate-limited. */
  maxRetryAfterMs?: number;
  random?: () => number;
  fetch?: typeof fetch;
  /** Called once per HTTP attempt (for metrics). */
  onAttempt?: (outcome: string) => void;
}

type AttemptResult = { ok: true; token: MintedToken } | { ok: false; error: IdpError; retryAfterMs?: number };

/**
 * OAuth client-credentials grant: `POST {loginUrl}/oauth/token` with HTTP Basic client authentication.
 * Retries 429 (after `Retry-After`), 5xx, timeouts and network errors; 400/401/403 are permanent, and a
 * 200 with a body that is not a token is reported at once (retrying could mint tokens nobody uses).
 */
export class OAuthClient implements IdentityProvider {
  private readonly maxAttempts: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;
  private readonly fetch: typeof fetch;

  constructor(private readonly o: OAuthClientOptions) {
    this.maxAttempts = o.maxAttempts ?? 4;
    this.baseBackoffMs = o.baseBackoffMs ?? 200;
    this.maxBackoffMs = o.maxBackoffMs ?? 3_000;
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? 5_000;
    this.random = o.random ?? Math.random;
    this.fetch = o.fetch ?? globalThis.fetch;
  }

  async mint(
    loginUrl: string,
    credentials: ClientCredentials,
    options: { deadlineMs: number },
  ): Promise<MintedToken> {
    const { clock } = this.o;
    let last: IdpError | undefined;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const budget = options.deadlineMs - clock.now();
      if (budget <= 0) break;
      const result = await this.attempt(loginUrl, credentials, Math.min(this.o.timeoutMs, budget));
      if (result.ok) return result.token;
      last = result.error;
      if (!last.retryable || attempt === this.maxAttempts - 1) break;
      const delay = result.retryAfterMs ?? this.backoff(attempt);
      if (delay > this.maxRetryAfterMs || clock.now() + delay >= options.deadlineMs) break;
      await clock.sleep(delay);
    }
    throw last ?? new IdpError("unavailable", "no time left to call the identity provider");
  }

  private backoff(attempt: number): number {
    return Math.floor(this.random() * Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** attempt));
  }

  private async attempt(
    loginUrl: string,
    credentials: ClientCredentials,
    timeoutMs: number,
  ): Promise<AttemptResult> {
    const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`, "utf8").toString(
      "base64",
    );
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(`${loginUrl}/oauth/token`, {
        method: "POST",
        headers: {
          Authorization: `Basic ${basic}`,
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/json",
        },
        body: "grant_type=client_credentials",
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      this.o.onAttempt?.(timedOut ? "timeout" : "network");
      const message = timedOut ? `no answer within ${timeoutMs} ms` : "network error";
      return { ok: false, error: new IdpError("unavailable", message) };
    }
    this.o.onAttempt?.(String(response.status));
    const status = response.status;
    if (status === 200) {
      const parsed = parseTokenResponse(text);
      if (parsed.ok) return { ok: true, token: parsed.token };
      return { ok: false, error: new IdpError("malformed_response", parsed.problem, status) };
    }
    if (status === 429) {
      return {
        ok: false,
        error: new IdpError("rate_limited", "rate limited (429)", status),
        retryAfterMs: retryAfterMs(response.headers.get("retry-after"), this.o.clock.now()),
      };
    }
    if (status === 400 || status === 401 || status === 403) {
      const oauthError = oauthErrorCode(text);
      const invalidClient = status === 401 || oauthError === "invalid_client";
      return {
        ok: false,
        error: new IdpError(
          invalidClient ? "invalid_client" : "rejected",
          `refused with ${status}${oauthError ? ` ${oauthError}` : ""}`,
          status,
        ),
      };
    }
    return { ok: false, error: new IdpError("unavailable", `answered ${status}`, status) };
  }
}

/** `Retry-After` as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The OAuth `error` field, only if it is a short token-like word (never echo arbitrary bodies). */
function oauthErrorCode(text: string): string | undefined {
  try {
    const value = (JSON.parse(text) as { error?: unknown }).error;
    return typeof value === "string" && /^[a-z_]{1,40}$/.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
