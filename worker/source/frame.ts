/**
 * Classifies one WebSocket frame from the upstream. Pure: no I/O. Control frames (heartbeat, pong)
 * are never events; malformed frames get a stable code for logs and the MalformedFrames metric.
 */
import type { NotificationEnvelope } from "../../shared/contracts.ts";

/**
 * Default frame limit: far above any Genesys event (the limit guards memory, not the SQS size; events
 * larger than a queue message go to S3 or the dead-letter path in the sink). MAX_FRAME_BYTES configures it.
 */
export const MAX_FRAME_BYTES = 64 * 1_048_576;

export type MalformedCode =
  | "binary_frame"
  | "frame_too_large"
  | "not_json"
  | "not_an_object"
  | "missing_topic_name";

export type Frame =
  | { kind: "heartbeat" }
  | { kind: "pong" }
  | { kind: "socket-closing" }
  | { kind: "channel-dead"; result: string }
  | { kind: "event"; envelope: NotificationEnvelope }
  | { kind: "malformed"; code: MalformedCode; sizeBytes: number };

const SOCKET_CLOSING_TOPIC = "v2.system.socket_closing";
const METADATA_TOPIC = "channel.metadata";

export function classifyFrame(data: Buffer | string, isBinary: boolean, maxBytes = MAX_FRAME_BYTES): Frame {
  const sizeBytes = typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.length;
  if (isBinary) return { kind: "malformed", code: "binary_frame", sizeBytes };
  if (sizeBytes > maxBytes) return { kind: "malformed", code: "frame_too_large", sizeBytes };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof data === "string" ? data : data.toString("utf8"));
  } catch {
    return { kind: "malformed", code: "not_json", sizeBytes };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { kind: "malformed", code: "not_an_object", sizeBytes };
  }
  const obj = parsed as Record<string, unknown>;
  if (obj.topicName === undefined && String(obj.result) === "404") {
    return { kind: "channel-dead", result: String(obj.result) };
  }
  if (typeof obj.topicName !== "string" || obj.topicName === "") {
    return { kind: "malformed", code: "missing_topic_name", sizeBytes };
  }
  if (obj.topicName === METADATA_TOPIC) {
    const message = (obj.eventBody as { message?: unknown } | null | undefined)?.message;
    return message === "pong" ? { kind: "pong" } : { kind: "heartbeat" };
  }
  if (obj.topicName === SOCKET_CLOSING_TOPIC) return { kind: "socket-closing" };
  return { kind: "event", envelope: obj as unknown as NotificationEnvelope };
}
