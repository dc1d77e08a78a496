/**
 * Content identity of a notification: topic, CorrelationId (or its absence) and the exact eventBody.
 * Two events with the same key are indistinguishable on the wire (legitimately identical events are
 * possible upstream), so loss accounting counts them as a multiset, never as one event.
 */
import { createHash } from "node:crypto";
import type { NotificationEnvelope } from "../shared/contracts.ts";

/** 64-bit key as 16 hex characters. `bodyJson` is `JSON.stringify(eventBody)`. */
export function contentKey(topic: string, correlationId: string | undefined, bodyJson: string): string {
  return createHash("sha1")
    .update(topic)
    .update("\u0000")
    .update(correlationId === undefined ? "\u0001" : `c${correlationId}`)
    .update("\u0000")
    .update(bodyJson ?? "undefined")
    .digest("hex")
    .slice(0, 16);
}

/** The key of an envelope as a receiver sees it (JSON round trips keep key order and values). */
export function envelopeContentKey(envelope: NotificationEnvelope): string {
  const correlationId = envelope.metadata?.CorrelationId;
  return contentKey(
    envelope.topicName,
    typeof correlationId === "string" ? correlationId : undefined,
    JSON.stringify(envelope.eventBody),
  );
}
