/**
 * Where the worker gets its access token (DESIGN.md sections 3 and 4). Implementations: the broker over
 * its SigV4-signed Function URL, or `direct` minting against the identity provider for local runs.
 */

export interface WorkerToken {
  accessToken: string;
  expiresAtMs: number;
  /** When the token was minted, if known; else when this worker obtained it. */
  issuedAtMs?: number;
  /** fingerprint(accessToken): the only way a token is ever named in logs and errors. */
  fingerprint: string;
}

/**
 * `lane`: redundant sessions ask for different lanes (the supervisor's slot index) so that they hold
 * distinct tokens, minted at different times: one revoked or expired token cannot silence every session.
 * Lane 0 is the default; a source without lanes may serve every lane the same token.
 */
export interface TokenSource {
  /** A token that has not yet passed its refresh point (cached, or fetched once for all concurrent callers). */
  current(lane?: number): Promise<WorkerToken>;
  /**
   * The upstream refused the token with `rejectedFingerprint` (401/4001/1008): compare-and-swap.
   * Returns a different token if one exists or can be minted; never hands the rejected one back.
   */
  refresh(rejectedFingerprint: string, lane?: number): Promise<WorkerToken>;
}

/** `permanent` failures (invalid client, unknown profile) must not be retried in a loop. */
export class TokenSourceError extends Error {
  /** The server's Retry-After, in ms: the next attempt waits exactly this long. */
  readonly retryAfterMs: number | undefined;
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
    readonly status?: number,
    options: { retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TokenSourceError";
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isPermanentTokenError(err: unknown): boolean {
  return err instanceof TokenSourceError && err.permanent;
}

/**
 * A bare 403/404 from the token source (no permanent error code): SigV4 clock skew, a credential being
 * rotated, an IAM change propagating, a deploy in progress. Retried with an alarm each time; the supervisor
 * stops the slot only after a bounded number of them in a row.
 */
export function isTokenRefusal(err: unknown): err is TokenSourceError {
  return err instanceof TokenSourceError && !err.permanent && (err.status === 403 || err.status === 404);
}
