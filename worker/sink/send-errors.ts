/**
 * How the SQS sink reacts to a failed SendMessageBatch call or a failed entry.
 * - `retry`: transient or not the entry's fault (network, throttling, 5xx, permissions, missing queue):
 *   keep the entries, back off, try again. Never dropped.
 * - `split`: the request as a whole was malformed (too long, bad ids): send the entries one by one.
 * - `reject`: this entry can never be accepted (invalid contents or parameters): dead-letter path.
 */
export type SendErrorAction = "retry" | "split" | "reject";

const SPLIT_CODES = new Set([
  "BatchRequestTooLong",
  "BatchEntryIdsNotDistinct",
  "TooManyEntriesInBatchRequest",
  "InvalidBatchEntryId",
  "EmptyBatchRequest",
  "AWS.SimpleQueueService.BatchRequestTooLong",
  "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
  "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
]);

const REJECT_CODES = new Set([
  "InvalidMessageContents",
  "InvalidParameterValue",
  "MissingParameter",
  "MessageTooLong",
  "InvalidAttributeName",
  "InvalidAttributeValue",
]);

const TRANSIENT = /throttl|exceeded|unavailable|internal|timeout|kms|slowdown|overlimit|requestlimit/i;

export interface ErrorLike {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: unknown;
}

export function errorCode(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  for (const c of [e.Code, e.name, e.code]) {
    if (typeof c === "string" && c.length > 0 && c !== "Error") return c;
  }
  return "UnknownError";
}

/** A whole SendMessageBatch call failed (threw). */
export function classifyBatchError(err: unknown): { action: SendErrorAction; code: string } {
  const code = errorCode(err);
  const bare = code.replace(/^AWS\.SimpleQueueService\./, "");
  if (SPLIT_CODES.has(code) || SPLIT_CODES.has(bare)) return { action: "split", code };
  const status = (err as ErrorLike | undefined)?.$metadata?.httpStatusCode;
  if (REJECT_CODES.has(bare) && status !== undefined && status >= 400 && status < 500) {
    return { action: "reject", code };
  }
  return { action: "retry", code };
}

/** One entry of a batch came back in `Failed[]`. */
export function classifyFailedEntry(entry: { Code?: string; SenderFault?: boolean }): {
  action: SendErrorAction;
  code: string;
} {
  const code = entry.Code ?? "UnknownError";
  if (TRANSIENT.test(code)) return { action: "retry", code };
  return { action: entry.SenderFault ? "reject" : "retry", code };
}
