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

/** `permanent` failures (invalid client, unknown profile, forbidden) must not be retried in a loop. */
export class TokenSourceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "TokenSourceError";
  }
}

export function isPermanentTokenError(err: unknown): boolean {
  return err instanceof TokenSourceError && err.permanent;
}
