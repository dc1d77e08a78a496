/** Function URL events as Lambda delivers them (AuthType AWS_IAM), for broker tests and benchmarks. */
import type { FunctionUrlEvent } from "../../functions/broker/core/events.ts";

let counter = 0;

export const CALLER = {
  userArn: "arn:aws:sts::111122223333:assumed-role/worker/task-1",
  accountId: "111122223333",
  callerId: "AROAEXAMPLE:task-1",
};

/** A Function URL event as Lambda delivers it with AuthType AWS_IAM. */
export function urlEvent(
  method: string,
  rawPath: string,
  options: {
    query?: Record<string, string>;
    body?: string;
    base64?: boolean;
    iam?: typeof CALLER | null;
  } = {},
): FunctionUrlEvent {
  counter++;
  const iam = options.iam === undefined ? CALLER : options.iam;
  return {
    rawPath,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    queryStringParameters: options.query,
    headers: { "content-type": "application/json" },
    body:
      options.body === undefined
        ? undefined
        : options.base64
          ? Buffer.from(options.body).toString("base64")
          : options.body,
    isBase64Encoded: options.base64 ?? false,
    requestContext: {
      requestId: `req-${process.pid}-${counter}`,
      http: { method, path: rawPath, sourceIp: "203.0.113.7" },
      authorizer: iam ? { iam } : undefined,
    },
  };
}

export function getToken(profile: string, iam?: typeof CALLER | null): FunctionUrlEvent {
  return urlEvent("GET", "/token", { query: { profile }, iam });
}

export function refreshToken(profile: string, rejectedFingerprint: string): FunctionUrlEvent {
  return urlEvent("POST", "/token/refresh", { body: JSON.stringify({ profile, rejectedFingerprint }) });
}
