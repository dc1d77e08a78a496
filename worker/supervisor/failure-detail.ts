/**
 * The log fields of a session failure and the reason of a permanent stop: what went wrong, with the
 * upstream's own error code and message (Genesys' `{code, message}`, already scrubbed of the token by
 * genesys-rest.ts), never a token.
 */
import type { SessionFailure } from "../core/close-policy.ts";
import { TokenSourceError } from "../token/token-source.ts";

export interface FailureDetail {
  failure?: SessionFailure["kind"];
  /** Close code or HTTP status. */
  detail?: number;
  upstreamCode?: string;
  upstreamMessage?: string;
}

export function failureDetail(f: SessionFailure): FailureDetail {
  const out: FailureDetail = { failure: f.kind };
  if (f.kind === "close") out.detail = f.code;
  if (f.kind === "upgrade-rejected" || f.kind === "rest-error") out.detail = f.status;
  if (f.kind === "rest-error") {
    if (f.upstreamCode !== undefined) out.upstreamCode = f.upstreamCode;
    if (f.upstreamMessage !== undefined) out.upstreamMessage = f.upstreamMessage;
  }
  return out;
}

/** `reason` followed by the upstream's code and message when it sent them. */
export function stopReason(reason: string, detail: FailureDetail = {}): string {
  const upstream = [detail.upstreamCode, detail.upstreamMessage].filter((v) => v !== undefined).join(": ");
  return upstream === "" ? reason : `${reason} (${upstream})`;
}

/** What a token-source error may say in a log line: its code and HTTP status (its message may be long). */
export function tokenErrorDetail(err: unknown): { tokenError: string; status?: number } {
  if (!(err instanceof TokenSourceError)) return { tokenError: "token_error" };
  return err.status === undefined ? { tokenError: err.code } : { tokenError: err.code, status: err.status };
}
