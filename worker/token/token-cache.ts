/**
 * Token cache with single flight: concurrent callers share one fetch; a cached token is served until
 * its refresh point (a fraction of the life left when it was obtained). Pure apart from the injected fetchers.
 */
import type { WorkerToken } from "./token-source.ts";

export interface TokenCacheOptions {
  /** Fraction of the token's remaining life (from when it was obtained) after which it is refetched. Default 0.5. */
  refreshFraction?: number;
  now?: () => number;
}

interface Cached {
  token: WorkerToken;
  refreshAtMs: number;
}

export class TokenCache {
  readonly #fraction: number;
  readonly #now: () => number;
  #cached: Cached | undefined;
  #inFlight: Promise<WorkerToken> | undefined;

  constructor(opts: TokenCacheOptions = {}) {
    const f = opts.refreshFraction ?? 0.5;
    if (!(f > 0 && f <= 1)) throw new RangeError(`refreshFraction must be in (0, 1], got ${f}`);
    this.#fraction = f;
    this.#now = opts.now ?? Date.now;
  }

  /** The cached token if it has not passed its refresh point. */
  fresh(): WorkerToken | undefined {
    const c = this.#cached;
    return c && this.#now() < c.refreshAtMs ? c.token : undefined;
  }

  /** The cached token whatever its age (used by compare-and-swap refresh). */
  peek(): WorkerToken | undefined {
    return this.#cached?.token;
  }

  /** Runs `fetch` unless one is already running; the result is cached for everyone. */
  singleFlight(fetch: () => Promise<WorkerToken>): Promise<WorkerToken> {
    if (this.#inFlight) return this.#inFlight;
    const p = fetch()
      .then((token) => {
        this.store(token);
        return token;
      })
      .finally(() => {
        if (this.#inFlight === p) this.#inFlight = undefined;
      });
    this.#inFlight = p;
    return p;
  }

  store(token: WorkerToken): void {
    const obtainedAtMs = this.#now();
    const life = Math.max(0, token.expiresAtMs - obtainedAtMs);
    this.#cached = { token, refreshAtMs: obtainedAtMs + this.#fraction * life };
  }
}
