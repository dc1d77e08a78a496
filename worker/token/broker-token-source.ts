/**
 * Token source backed by the broker's Function URL (AuthType AWS_IAM): `GET /token?profile=P` and
 * `POST /token/refresh`, each request SigV4-signed for service `lambda` with the SDK's own signer and
 * the default credential chain (injected in tests).
 */
import { Sha256 } from "@aws-crypto/sha256-js";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type {
  BrokerErrorResponse,
  BrokerRefreshRequest,
  BrokerTokenResponse,
} from "../../shared/contracts.ts";
import { fingerprint } from "../../shared/fingerprint.ts";
import { retryAfterSeconds } from "../source/retry-after.ts";
import { TokenCache } from "./token-cache.ts";
import { type TokenSource, TokenSourceError, type WorkerToken } from "./token-source.ts";

/** Returns a signed copy of the request (SignatureV4 satisfies this). */
export interface RequestSigner {
  sign(request: HttpRequest): Promise<{ headers: Record<string, string> }>;
}

export interface BrokerTokenSourceOptions {
  brokerUrl: string;
  profile: string;
  region: string;
  /** Default: the SDK default credential chain. */
  credentials?: ConstructorParameters<typeof SignatureV4>[0]["credentials"];
  signer?: RequestSigner;
  fetch?: typeof fetch;
  timeoutMs?: number;
  refreshFraction?: number;
  now?: () => number;
}

const PERMANENT_CODES = new Set([
  "unknown_profile",
  "idp_invalid_client",
  "bad_request",
  "method_not_allowed",
]);

export class BrokerTokenSource implements TokenSource {
  readonly #base: URL;
  readonly #profile: string;
  readonly #signer: RequestSigner;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  /** One cache per lane (`GET /token?profile=P&lane=N`; lane 0 sends no lane parameter). */
  readonly #caches = new Map<number, TokenCache>();
  readonly #refreshFraction: number | undefined;
  readonly #now: () => number;

  constructor(opts: BrokerTokenSourceOptions) {
    this.#base = new URL(opts.brokerUrl.endsWith("/") ? opts.brokerUrl : `${opts.brokerUrl}/`);
    this.#profile = opts.profile;
    this.#signer =
      opts.signer ??
      new SignatureV4({
        service: "lambda",
        region: opts.region,
        credentials: opts.credentials ?? fromNodeProviderChain(),
        sha256: Sha256,
      });
    this.#fetch = opts.fetch ?? fetch;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
    this.#refreshFraction = opts.refreshFraction;
  }

  current(lane = 0): Promise<WorkerToken> {
    const cache = this.#cache(lane);
    const fresh = cache.fresh();
    if (fresh) return Promise.resolve(fresh);
    const query: Record<string, string> = { profile: this.#profile };
    if (lane > 0) query.lane = String(lane);
    return cache.singleFlight(() => this.#call("GET", "token", query));
  }

  refresh(rejectedFingerprint: string, lane = 0): Promise<WorkerToken> {
    const cache = this.#cache(lane);
    const cached = cache.peek();
    if (cached && cached.fingerprint !== rejectedFingerprint && cache.fresh()) {
      return Promise.resolve(cached);
    }
    const body: BrokerRefreshRequest = { profile: this.#profile, rejectedFingerprint };
    if (lane > 0) body.lane = lane;
    return cache.singleFlight(() => this.#call("POST", "token/refresh", undefined, body));
  }

  #cache(lane: number): TokenCache {
    let cache = this.#caches.get(lane);
    if (!cache) {
      cache = new TokenCache({ refreshFraction: this.#refreshFraction, now: this.#now });
      this.#caches.set(lane, cache);
    }
    return cache;
  }

  async #call(
    method: "GET" | "POST",
    path: string,
    query?: Record<string, string>,
    body?: unknown,
  ): Promise<WorkerToken> {
    const url = new URL(path, this.#base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { host: url.host, accept: "application/json" };
    if (payload !== undefined) headers["content-type"] = "application/json";
    const unsigned = new HttpRequest({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers,
      body: payload,
    });
    const signed = await this.#signer.sign(unsigned);
    if (query) for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const sendHeaders = { ...signed.headers };
    delete sendHeaders.host;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers: sendHeaders,
        body: payload,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new TokenSourceError(
        "broker_unreachable",
        `broker request failed: ${errorName(err)}`,
        false,
        undefined,
        { cause: err },
      );
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) {
      const retryAfterSec = retryAfterSeconds(res.headers.get("retry-after"), this.#now());
      throw brokerError(res.status, text, retryAfterSec === undefined ? undefined : retryAfterSec * 1000);
    }
    return parseTokenResponse(text, this.#now());
  }
}

function errorName(err: unknown): string {
  if (err instanceof Error) return err.name === "TimeoutError" ? "timeout" : err.name;
  return "unknown";
}

function brokerError(status: number, text: string, retryAfterMs: number | undefined): TokenSourceError {
  let code = `http_${status}`;
  let message = `broker answered HTTP ${status}`;
  try {
    const parsed = JSON.parse(text) as Partial<BrokerErrorResponse>;
    if (parsed.error && typeof parsed.error.code === "string") {
      code = parsed.error.code;
      message = `broker error ${code}: ${String(parsed.error.message ?? "").slice(0, 200)}`;
    }
  } catch {
    // Not a broker error body (e.g. a proxy page): keep the status-derived code.
  }
  // A bare 403/404 may be transient (clock skew, propagation): the supervisor counts them per slot.
  const permanent = PERMANENT_CODES.has(code);
  return new TokenSourceError(code, message, permanent, status, { retryAfterMs });
}

/** Validates a BrokerTokenResponse; never echoes the body (it holds a token). */
export function parseTokenResponse(text: string, nowMs: number): WorkerToken {
  let parsed: Partial<BrokerTokenResponse>;
  try {
    parsed = JSON.parse(text) as Partial<BrokerTokenResponse>;
  } catch {
    throw new TokenSourceError("broker_bad_response", "broker response is not JSON", false);
  }
  const expiresAtMs = typeof parsed.expiresAt === "string" ? Date.parse(parsed.expiresAt) : Number.NaN;
  if (typeof parsed.accessToken !== "string" || parsed.accessToken === "" || !Number.isFinite(expiresAtMs)) {
    throw new TokenSourceError("broker_bad_response", "broker response lacks accessToken/expiresAt", false);
  }
  const fp = fingerprint(parsed.accessToken);
  if (typeof parsed.fingerprint === "string" && parsed.fingerprint !== fp) {
    throw new TokenSourceError("broker_bad_response", "broker fingerprint does not match its token", false);
  }
  return { accessToken: parsed.accessToken, expiresAtMs, issuedAtMs: nowMs, fingerprint: fp };
}
