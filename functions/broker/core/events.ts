/**
 * The two event shapes the broker Lambda receives. Everything is optional: the input is untrusted and
 * validated where it is read.
 */

/** Lambda Function URL request (API Gateway v2 payload) with `AuthType AWS_IAM`. */
export interface FunctionUrlEvent {
  rawPath?: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: {
    requestId?: string;
    http?: { method?: string; path?: string; sourceIp?: string };
    authorizer?: {
      iam?: {
        userArn?: string | null;
        accountId?: string | null;
        callerId?: string | null;
        userId?: string | null;
        principalOrgId?: string | null;
      } | null;
    } | null;
  };
}

/** Function URL response. */
export interface FunctionUrlResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

/** What EventBridge Scheduler sends (the stack sets exactly this input). */
export interface ScheduledRefreshEvent {
  kind: "scheduled-refresh";
}

export function isScheduledRefreshEvent(event: unknown): event is ScheduledRefreshEvent {
  return (
    typeof event === "object" && event !== null && (event as { kind?: unknown }).kind === "scheduled-refresh"
  );
}

export function isFunctionUrlEvent(event: unknown): event is FunctionUrlEvent {
  if (typeof event !== "object" || event === null) return false;
  const context = (event as FunctionUrlEvent).requestContext;
  return typeof context === "object" && context !== null && typeof context.http === "object";
}
