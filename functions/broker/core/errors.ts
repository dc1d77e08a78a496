import type { BrokerErrorCode } from "../../../shared/contracts.ts";

const STATUS_BY_CODE: Record<BrokerErrorCode, number> = {
  unauthenticated: 401,
  forbidden: 403,
  unknown_profile: 404,
  bad_request: 400,
  method_not_allowed: 405,
  not_found: 404,
  idp_unavailable: 503,
  idp_invalid_client: 502,
  token_unavailable: 503,
  internal: 500,
};

export function statusForCode(code: BrokerErrorCode): number {
  return STATUS_BY_CODE[code];
}

/** A failure with a stable public code. `message` is safe to return to callers and to log. */
export class BrokerError extends Error {
  override readonly name = "BrokerError";
  readonly status: number;
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
  ) {
    super(message);
    this.status = statusForCode(code);
  }
}

export type IdpErrorKind =
  | "invalid_client"
  | "rejected"
  | "rate_limited"
  | "unavailable"
  | "malformed_response";

/** The identity provider could not issue a token. Never carries the response body or credentials. */
export class IdpError extends Error {
  override readonly name = "IdpError";
  constructor(
    readonly kind: IdpErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  get permanent(): boolean {
    return this.kind === "invalid_client" || this.kind === "rejected";
  }

  /** Worth another attempt: not a refusal, and not a 200 whose body made no sense (it may have minted). */
  get retryable(): boolean {
    return !this.permanent && this.kind !== "malformed_response";
  }

  get code(): BrokerErrorCode {
    return this.permanent ? "idp_invalid_client" : "idp_unavailable";
  }
}

/** `putNew` reused a ClientRequestToken for a different token: another writer already made that version. */
export class TokenVersionConflictError extends Error {
  override readonly name = "TokenVersionConflictError";
}

/** The token cache could not be read or written (throttling, outage). */
export class TokenStoreError extends Error {
  override readonly name = "TokenStoreError";
  constructor(
    message: string,
    readonly awsErrorName?: string,
  ) {
    super(message);
  }
}

/** Maps anything thrown to a stable public code without leaking its message. */
export function toBrokerError(error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  if (error instanceof IdpError) return new BrokerError(error.code, `identity provider: ${error.message}`);
  if (error instanceof TokenStoreError) return new BrokerError("token_unavailable", error.message);
  return new BrokerError("internal", "internal error");
}
