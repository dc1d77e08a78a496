/**
 * Local-only token source (TOKEN_SOURCE=direct): mints with the OAuth client id/secret from the
 * environment against `${loginUrl}/oauth/token` (client_credentials, Basic auth). 429 (and 5xx) wait
 * exactly their Retry-After, other 5xx/network errors back off with full jitter, `invalid_client`/401/400
 * are permanent.
 */
import { fingerprint } from "../../shared/fingerprint.ts";
import { FullJitterBackoff } from "../core/backoff.ts";
import { retryAfterSeconds } from "../source/retry-after.ts";
import { TokenCache } from "./token-cache.ts";
import { type TokenSource, TokenSourceError, type WorkerToken } from "./token-source.ts";

export interface DirectTokenSourceOptions {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Attempts per mint before giving up with a transient error. Default 5. */
  maxAttempts?: number;
  backoff?: { baseMs?: number; capMs?: number };
  refreshFraction?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Longest Retry-After one mint waits out itself; a longer one ends the mint (the supervisor waits it out). */
const MAX_IN_LOOP_WAIT_MS = 60_000;

export class DirectTokenSource implements TokenSource {
  readonly #url: string;
  readonly #authorization: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #backoffOpts: { baseMs?: number; capMs?: number };
  /** One cache per lane: each lane's token is minted separately (single flight per lane). */
  readonly #caches = new Map<number, TokenCache>();
  readonly #refreshFraction: number | undefined;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Identity-provider requests made (for stats and tests). */
  mints = 0;

  constructor(opts: DirectTokenSourceOptions) {
    this.#url = `${opts.loginUrl.replace(/\/+$/, "")}/oauth/token`;
    this.#authorization = `Basic ${Buffer.from(`${opts.clientId}:${opts.clientSecret}`, "utf8").toString("base64")}`;
    this.#fetch = opts.fetch ?? fetch;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.#backoffOpts = opts.backoff ?? {};
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#refreshFraction = opts.refreshFraction;
  }

  current(lane = 0): Promise<WorkerToken> {
    const cache = this.#cache(lane);
    const fresh = cache.fresh();
    if (fresh) return Promise.resolve(fresh);
    return cache.singleFlight(() => this.#mint());
  }

  refresh(rejectedFingerprint: string, lane = 0): Promise<WorkerToken> {
    const cache = this.#cache(lane);
    const cached = cache.peek();
    if (cached && cached.fingerprint !== rejectedFingerprint && cache.fresh()) {
      return Promise.resolve(cached);
    }
    return cache.singleFlight(() => this.#mint());
  }

  #cache(lane: number): TokenCache {
    let cache = this.#caches.get(lane);
    if (!cache) {
      cache = new TokenCache({ refreshFraction: this.#refreshFraction, now: this.#now });
      this.#caches.set(lane, cache);
    }
    return cache;
  }

  async #mint(): Promise<WorkerToken> {
    const backoff = new FullJitterBackoff({ baseMs: 200, capMs: 5_000, ...this.#backoffOpts });
    let last: TokenSourceError | undefined;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const outcome = await this.#attempt();
      if ("token" in outcome) return outcome.token;
      last = outcome.error;
      if (last.permanent || attempt === this.#maxAttempts) break;
      const retryAfterMs = last.retryAfterMs;
      // Retry-After is waited out exactly; one longer than this loop should block goes to the supervisor,
      // which schedules the next attempt exactly that far ahead.
      if (retryAfterMs !== undefined && retryAfterMs > MAX_IN_LOOP_WAIT_MS) break;
      await this.#sleep(retryAfterMs ?? backoff.nextDelayMs());
    }
    throw last ?? new TokenSourceError("idp_unavailable", "identity provider unavailable", false);
  }

  async #attempt(): Promise<{ token: WorkerToken } | { error: TokenSourceError }> {
    this.mints++;
    let res: Response;
    try {
      res = await this.#fetch(this.#url, {
        method: "POST",
        headers: {
          authorization: this.#authorization,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: "grant_type=client_credentials",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const name = err instanceof Error ? err.name : "unknown";
      return {
        error: new TokenSourceError("idp_unreachable", `token request failed: ${name}`, false, undefined, {
          cause: err,
        }),
      };
    }
    const text = await res.text().catch(() => "");
    const retryAfterSec = retryAfterSeconds(res.headers.get("retry-after"), this.#now());
    const retryAfterMs = retryAfterSec === undefined ? undefined : Math.round(retryAfterSec * 1000);
    if (res.status === 429) {
      return {
        error: new TokenSourceError("idp_throttled", "identity provider throttled (429)", false, 429, {
          retryAfterMs,
        }),
      };
    }
    if (res.status >= 500) {
      return {
        error: new TokenSourceError(
          "idp_unavailable",
          `identity provider HTTP ${res.status}`,
          false,
          res.status,
          { retryAfterMs },
        ),
      };
    }
    if (!res.ok) {
      const code = oauthErrorCode(text) ?? `http_${res.status}`;
      return {
        error: new TokenSourceError(
          code === "invalid_client" ? "idp_invalid_client" : code,
          `identity provider refused the client (HTTP ${res.status}, ${code})`,
          true,
          res.status,
        ),
      };
    }
    try {
      return { token: parseOAuthToken(text, this.#now()) };
    } catch (err) {
      return { error: err as TokenSourceError };
    }
  }
}

function oauthErrorCode(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    return typeof parsed.error === "string" ? parsed.error.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}

/** `{access_token, token_type, expires_in}` -> WorkerToken; garbage is a transient typed error, never echoed. */
export function parseOAuthToken(text: string, nowMs: number): WorkerToken {
  let parsed: { access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new TokenSourceError("idp_bad_response", "token response is not JSON", false);
  }
  const expiresIn = Number(parsed.expires_in);
  if (typeof parsed.access_token !== "string" || parsed.access_token === "" || !(expiresIn > 0)) {
    throw new TokenSourceError("idp_bad_response", "token response lacks access_token/expires_in", false);
  }
  return {
    accessToken: parsed.access_token,
    issuedAtMs: nowMs,
    expiresAtMs: nowMs + expiresIn * 1000,
    fingerprint: fingerprint(parsed.access_token),
  };
}
