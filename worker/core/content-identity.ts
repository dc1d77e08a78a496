/**
 * The identity of an event's content, independent of which session delivered it: topic + canonical
 * eventBody + CorrelationId, hashed with SHA-256 (the de-dup key's content part and the `contentKey`
 * consumers can key on).
 */
import * as crypto from "node:crypto";
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import { Utf8Writer, writeCanonicalJson } from "./canonical-bytes.ts";
import { canonicalJson, quoteJson } from "./canonical-json.ts";

// crypto.hash (Node >= 20.12) is a one-shot digest, several times faster than createHash for short inputs.
const oneShot = (
  crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }
).hash;

export function sha256Hex(text: string): string {
  return oneShot
    ? oneShot("sha256", text, "hex")
    : crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

/** The identity of an event's content, independent of which session delivered it (a JSON array text). */
export function contentText(envelope: NotificationEnvelope): string {
  const correlationId = envelope.metadata?.CorrelationId;
  const cid = correlationId === undefined ? "null" : quoteJson(String(correlationId));
  return `[${quoteJson(String(envelope.topicName))},${canonicalJson(envelope.eventBody)},${cid}]`;
}

/** Content key: SHA-256 hex of contentText (topicName + canonical eventBody + CorrelationId). */
export function contentKey(envelope: NotificationEnvelope): string {
  return sha256Hex(contentText(envelope));
}

/**
 * contentKey without building the text: writes the same UTF-8 bytes into a buffer reused from one event to
 * the next and hashes them.
 */
export class ContentHasher {
  readonly #w = new Utf8Writer();

  key(envelope: NotificationEnvelope): string {
    const w = this.#w;
    w.length = 0;
    const correlationId = envelope.metadata?.CorrelationId;
    w.char(0x5b);
    w.quoted(String(envelope.topicName));
    w.char(0x2c);
    writeCanonicalJson(w, envelope.eventBody);
    w.char(0x2c);
    if (correlationId === undefined) w.text("null");
    else w.quoted(String(correlationId));
    w.char(0x5d);
    const bytes = w.bytes.subarray(0, w.length);
    return oneShot
      ? oneShot("sha256", bytes, "hex")
      : crypto.createHash("sha256").update(bytes).digest("hex");
  }
}
