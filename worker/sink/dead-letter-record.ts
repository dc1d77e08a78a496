/**
 * Builds the dead-letter record of a message the sink cannot deliver (shared/contracts.ts DeadLetterRecord):
 * its identity read defensively (the message may be the invalid thing), the reason, and the whole message
 * when the record fits in one SQS message, else the longest prefix of its JSON text that fits, flagged
 * `truncated`. Pure: no I/O.
 */
import type { DeadLetterRecord, QueuedMessage } from "../../shared/contracts.ts";
import { entrySizeBytes, sqsSafeJson } from "../core/message.ts";
import type { DeadLetterError } from "./sink-ports.ts";

/** SQS message attributes of a record: consumers can filter on the reason without parsing the body. */
export type DeadLetterAttributes = Record<string, { DataType: "String"; StringValue: string }>;

export interface DeadLetterSqsMessage {
  record: DeadLetterRecord;
  body: string;
  attributes: DeadLetterAttributes;
}

/** What was not delivered: a message, or a spool line that is not one (kept as text). */
export type Undelivered = { message: unknown; sizeBytes: number } | { line: string };

export function deadLetterMessage(
  undelivered: Undelivered,
  error: DeadLetterError,
  atMs: number,
  maxBytes: number,
): DeadLetterSqsMessage {
  const whole = "line" in undelivered ? undelivered.line : wholeText(undelivered.message);
  const record: DeadLetterRecord = {
    kind: "dead-letter",
    deadLetteredAt: new Date(atMs).toISOString(),
    reason: error.code,
    detail: error.message.slice(0, 1024),
    ...("line" in undelivered
      ? { messageKind: "unknown" }
      : identityOf(undelivered.message, whole === undefined)),
    sizeBytes: "line" in undelivered ? Buffer.byteLength(undelivered.line, "utf8") : undelivered.sizeBytes,
    truncated: false,
  };
  const attributes: DeadLetterAttributes = {
    kind: { DataType: "String", StringValue: "dead-letter" },
    reason: { DataType: "String", StringValue: error.code.slice(0, 256) || "unknown" },
  };
  const budget = maxBytes - entrySizeBytes({ MessageBody: "", MessageAttributes: attributes });
  // The whole message can only fit if its own text does: skip serialising the record of a 5 MiB event twice.
  if (!("line" in undelivered) && whole !== undefined && Buffer.byteLength(whole, "utf8") < budget) {
    const full = sqsSafeJson({ ...record, message: undelivered.message as QueuedMessage });
    if (Buffer.byteLength(full, "utf8") <= budget) {
      return { record: { ...record, message: undelivered.message as QueuedMessage }, body: full, attributes };
    }
  }
  const truncated: DeadLetterRecord = { ...record, truncated: true, messagePrefix: "" };
  const skeleton = Buffer.byteLength(sqsSafeJson(truncated), "utf8");
  const prefix = fittingPrefix(whole ?? "", budget - skeleton);
  truncated.messagePrefix = prefix;
  return { record: truncated, body: sqsSafeJson(truncated), attributes };
}

/** The message's JSON text, or undefined when it cannot be serialised (a cycle, a BigInt). */
function wholeText(message: unknown): string | undefined {
  try {
    return JSON.stringify(message) ?? undefined;
  } catch {
    return undefined;
  }
}

type Identity = Pick<
  DeadLetterRecord,
  "messageKind" | "key" | "contentKey" | "topicName" | "correlationId" | "receivedAt"
>;

/** Identity fields of a message that may be malformed: only strings are taken. */
export function identityOf(message: unknown, unserializable = false): Identity {
  if (!message || typeof message !== "object") return { messageKind: "unknown" };
  const m = message as Record<string, unknown>;
  const event = (m.event && typeof m.event === "object" ? m.event : {}) as Record<string, unknown>;
  const metadata = (event.metadata && typeof event.metadata === "object" ? event.metadata : {}) as Record<
    string,
    unknown
  >;
  const identity: Identity = {
    messageKind: typeof m.kind === "string" && !unserializable ? m.kind.slice(0, 64) : "unknown",
  };
  const text = (v: unknown): string | undefined => (typeof v === "string" ? v.slice(0, 1024) : undefined);
  const key = text(m.key);
  const contentKey = text(m.contentKey);
  const topicName = text(event.topicName) ?? text(m.topicName);
  const correlationId = text(metadata.CorrelationId);
  const receivedAt = text(m.receivedAt);
  if (key !== undefined) identity.key = key;
  if (contentKey !== undefined) identity.contentKey = contentKey;
  if (topicName !== undefined) identity.topicName = topicName;
  if (correlationId !== undefined) identity.correlationId = correlationId;
  if (receivedAt !== undefined) identity.receivedAt = receivedAt;
  return identity;
}

/**
 * The longest prefix of `text` whose JSON string form (quotes excluded, SQS-safe escapes included) takes at
 * most `maxBytes`; never cuts a character in two.
 */
export function fittingPrefix(text: string, maxBytes: number): string {
  if (maxBytes <= 0 || text === "") return "";
  const encodedBytes = (s: string): number => Buffer.byteLength(sqsSafeJson(s), "utf8") - 2;
  if (encodedBytes(text) <= maxBytes) return text;
  // Escapes only make the JSON form longer: start from maxBytes characters and shrink until it fits.
  let end = Math.min(text.length, maxBytes);
  for (;;) {
    end = charBoundary(text, end);
    const size = encodedBytes(text.slice(0, end));
    if (size <= maxBytes) break;
    end = Math.max(0, Math.min(end - 1, Math.floor((end * maxBytes) / size)));
  }
  // Grow back towards the limit in shrinking steps (the shrink above may have overshot).
  for (let step = Math.max(1, (maxBytes - encodedBytes(text.slice(0, end))) >> 1); step >= 1; ) {
    const next = charBoundary(text, Math.min(text.length, end + step));
    if (next > end && encodedBytes(text.slice(0, next)) <= maxBytes) end = next;
    else step >>= 1;
  }
  return text.slice(0, end);
}

/** `end`, moved back by one if it would split a surrogate pair. */
function charBoundary(text: string, end: number): number {
  if (end <= 0 || end >= text.length) return Math.max(0, end);
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}
