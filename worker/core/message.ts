/**
 * Builds the queue messages (shared/contracts.ts) and the SQS SendMessageBatch entry fields for them.
 * FIFO: MessageGroupId = topic (so order is kept per topic), MessageDeduplicationId = the message's unique
 * key. Message attributes: `kind`, `contentKey` (equal for identical content) and, when the worker could
 * not rule out a copy, `possibleDuplicate` = "true".
 */
import type {
  NotificationEnvelope,
  QueuedEventMessage,
  QueuedEventPointerMessage,
  QueuedMessage,
} from "../../shared/contracts.ts";
import { sha256Hex } from "./content-identity.ts";
import { GAP_TOPIC } from "./gap-ledger.ts";

export function eventMessage(
  envelope: NotificationEnvelope,
  key: string,
  receivedAtMs: number,
  identity?: { contentKey: string; possibleDuplicate?: boolean },
): QueuedEventMessage {
  const msg: QueuedEventMessage = { kind: "event", key, receivedAt: isoTime(receivedAtMs), event: envelope };
  if (identity) {
    msg.contentKey = identity.contentKey;
    if (identity.possibleDuplicate) msg.possibleDuplicate = true;
  }
  return msg;
}

// Events arrive many per millisecond under load: format each millisecond once.
let lastIsoMs = Number.NaN;
let lastIso = "";

/** `new Date(ms).toISOString()`, remembered for the last millisecond asked. */
export function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

export function pointerMessage(
  original: QueuedEventMessage,
  location: { bucket: string; objectKey: string; sizeBytes: number },
): QueuedEventPointerMessage {
  return {
    kind: "event-pointer",
    key: original.key,
    ...(original.contentKey === undefined ? {} : { contentKey: original.contentKey }),
    ...(original.possibleDuplicate ? { possibleDuplicate: true as const } : {}),
    receivedAt: original.receivedAt,
    topicName: original.event.topicName,
    bucket: location.bucket,
    objectKey: location.objectKey,
    sizeBytes: location.sizeBytes,
  };
}

/** The topic a message belongs to (its FIFO group before sanitising). */
export function topicOf(msg: QueuedMessage): string {
  switch (msg.kind) {
    case "event":
      return String(msg.event.topicName);
    case "event-pointer":
      return msg.topicName;
    case "gap":
      return GAP_TOPIC;
  }
}

// SQS group and deduplication ids: 1..128 characters of a-z A-Z 0-9 and punctuation.
const SQS_ID_CHARS = /^[\x21-\x7e]{1,128}$/;

/** MessageGroupId: the topic itself when SQS accepts it as an id, else a stable hash of it. */
export function messageGroupId(msg: QueuedMessage): string {
  const topic = topicOf(msg);
  return SQS_ID_CHARS.test(topic) ? topic : `topic-sha256-${sha256Hex(topic)}`;
}

/** MessageDeduplicationId: the message's unique key; for gaps a hash of the interval and topics. */
export function deduplicationId(msg: QueuedMessage): string {
  if (msg.kind === "gap") return sha256Hex(`gap|${msg.start}|${msg.end}|${msg.topics.join(",")}`);
  return SQS_ID_CHARS.test(msg.key) ? msg.key : sha256Hex(msg.key);
}

/** Structurally a SendMessageBatchRequestEntry (kept free of AWS SDK imports). */
export interface SqsEntryFields {
  Id: string;
  MessageBody: string;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
  MessageAttributes: Record<string, { DataType: "String"; StringValue: string }>;
}

export interface SqsEntry {
  fields: SqsEntryFields;
  /** Size as SQS counts it: UTF-8 body plus attribute names, types and values. */
  sizeBytes: number;
}

// Characters JSON.stringify leaves raw but SQS rejects in a message body (not valid XML characters).
const NON_XML_CHARS = /[\ufffe\uffff]/g;
const HAS_NON_XML_CHAR = /[\ufffe\uffff]/;

/** JSON body of a message, safe for SQS (the escapes only occur inside JSON strings, so it parses back the same). */
export function messageBody(msg: QueuedMessage): string {
  return sqsSafeJson(msg);
}

/** `JSON.stringify(value)` with the characters SQS refuses escaped (they only occur inside JSON strings). */
export function sqsSafeJson(value: unknown): string {
  const body = JSON.stringify(value);
  return HAS_NON_XML_CHAR.test(body)
    ? body.replace(NON_XML_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
    : body;
}

type SqsMessageAttributes = SqsEntryFields["MessageAttributes"];

// One attribute set per message kind, shared by every entry of that kind (entries only ever read it).
const KIND_ATTRIBUTES = new Map<string, { attributes: SqsMessageAttributes; sizeBytes: number }>();

function kindAttributes(kind: string): { attributes: SqsMessageAttributes; sizeBytes: number } {
  let known = KIND_ATTRIBUTES.get(kind);
  if (!known) {
    const attributes: SqsMessageAttributes = { kind: { DataType: "String", StringValue: kind } };
    known = { attributes, sizeBytes: entrySizeBytes({ MessageBody: "", MessageAttributes: attributes }) };
    if (KIND_ATTRIBUTES.size < 16) KIND_ATTRIBUTES.set(kind, known);
  }
  return known;
}

const CONTENT_KEY_ATTRIBUTE = "contentKey";
const POSSIBLE_DUPLICATE_ATTRIBUTE = "possibleDuplicate";
const POSSIBLE_DUPLICATE_BYTES = entrySizeBytes({
  MessageBody: "",
  MessageAttributes: { [POSSIBLE_DUPLICATE_ATTRIBUTE]: { DataType: "String", StringValue: "true" } },
});

/** The message's attributes and their size as SQS counts it. */
function attributesOf(msg: QueuedMessage): { attributes: SqsMessageAttributes; sizeBytes: number } {
  const kind = kindAttributes(msg.kind);
  if (msg.kind === "gap" || msg.contentKey === undefined) return kind;
  const attributes: SqsMessageAttributes = {
    ...kind.attributes,
    [CONTENT_KEY_ATTRIBUTE]: { DataType: "String", StringValue: msg.contentKey },
  };
  // "contentKey" + "String" + the (ASCII hex) key.
  let sizeBytes = kind.sizeBytes + CONTENT_KEY_ATTRIBUTE.length + 6 + msg.contentKey.length;
  if (msg.possibleDuplicate) {
    attributes[POSSIBLE_DUPLICATE_ATTRIBUTE] = { DataType: "String", StringValue: "true" };
    sizeBytes += POSSIBLE_DUPLICATE_BYTES;
  }
  return { attributes, sizeBytes };
}

export function toSqsEntry(msg: QueuedMessage, opts: { id: string; fifo: boolean; body?: string }): SqsEntry {
  const body = opts.body ?? messageBody(msg);
  const kind = attributesOf(msg);
  const fields: SqsEntryFields = { Id: opts.id, MessageBody: body, MessageAttributes: kind.attributes };
  if (opts.fifo) {
    fields.MessageGroupId = messageGroupId(msg);
    fields.MessageDeduplicationId = deduplicationId(msg);
  }
  return { fields, sizeBytes: Buffer.byteLength(body, "utf8") + kind.sizeBytes };
}

export function entrySizeBytes(fields: Pick<SqsEntryFields, "MessageBody" | "MessageAttributes">): number {
  let size = Buffer.byteLength(fields.MessageBody, "utf8");
  for (const [name, attr] of Object.entries(fields.MessageAttributes)) {
    size +=
      Buffer.byteLength(name, "utf8") +
      Buffer.byteLength(attr.DataType, "utf8") +
      Buffer.byteLength(attr.StringValue, "utf8");
  }
  return size;
}
