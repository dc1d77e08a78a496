import type { BrokerRefreshRequest } from "../../../shared/contracts.ts";
import type { Caller } from "./audit-record.ts";
import { BrokerError } from "./errors.ts";
import type { FunctionUrlEvent } from "./events.ts";
import type { RequestedLane } from "./token-lane.ts";

/** A refresh body whose lane is still to be checked against the profile's lane count. */
export interface ParsedRefreshRequest extends Omit<BrokerRefreshRequest, "lane"> {
  lane: RequestedLane;
}

const FINGERPRINT = /^[0-9a-f]{12}$/;
const MAX_BODY_BYTES = 4096;

/** The verified IAM caller from the Function URL's authorizer, or undefined when there is none. */
export function callerIdentity(event: FunctionUrlEvent): Caller | undefined {
  const iam = event.requestContext?.authorizer?.iam;
  const arn = iam?.userArn;
  if (typeof arn !== "string" || arn.length === 0) return undefined;
  const caller: Caller = { callerArn: arn };
  if (typeof iam?.accountId === "string" && iam.accountId) caller.callerAccount = iam.accountId;
  const sourceIp = event.requestContext?.http?.sourceIp;
  if (typeof sourceIp === "string" && sourceIp) caller.sourceIp = sourceIp;
  return caller;
}

/** Source IP is recorded even for refused, unauthenticated requests. */
export function sourceIpOnly(event: FunctionUrlEvent): Caller | undefined {
  const sourceIp = event.requestContext?.http?.sourceIp;
  return typeof sourceIp === "string" && sourceIp ? { sourceIp } : undefined;
}

export function requestedProfileName(event: FunctionUrlEvent): string | undefined {
  const value = event.queryStringParameters?.profile;
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** `GET /token?...&lane=N`: the raw lane text, if the query has one (an empty value counts: it is refused). */
export function requestedLaneFromQuery(event: FunctionUrlEvent): RequestedLane {
  const query = event.queryStringParameters;
  if (!query || !Object.hasOwn(query, "lane")) return { given: false };
  return { given: true, raw: query.lane ?? "", in: "query" };
}

export function parseRefreshRequest(event: FunctionUrlEvent): ParsedRefreshRequest {
  const raw = event.body ?? "";
  const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  if (Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES) {
    throw new BrokerError("bad_request", `body larger than ${MAX_BODY_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BrokerError("bad_request", "body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new BrokerError("bad_request", "body must be a JSON object");
  }
  const body = parsed as Record<string, unknown>;
  const { profile, rejectedFingerprint } = body;
  if (typeof profile !== "string" || profile.length === 0) {
    throw new BrokerError("bad_request", "profile must be a non-empty string");
  }
  if (typeof rejectedFingerprint !== "string" || !FINGERPRINT.test(rejectedFingerprint)) {
    throw new BrokerError("bad_request", "rejectedFingerprint must be 12 lowercase hex characters");
  }
  const lane: RequestedLane = Object.hasOwn(body, "lane")
    ? { given: true, raw: body.lane, in: "body" }
    : { given: false };
  return { profile, rejectedFingerprint, lane };
}

/** Best effort: the profile a (possibly malformed) refresh body asked for, for the audit trail. */
export function profileNameFromBody(event: FunctionUrlEvent): string | undefined {
  try {
    return parseRefreshRequest(event).profile;
  } catch {
    return undefined;
  }
}
