/** Validation of what reaches the sink (from the supervisor, a spool line or an adopted backlog). */
import type { QueuedMessage } from "../../shared/contracts.ts";

const MESSAGE_KINDS = new Set(["event", "event-pointer", "gap"]);

/** Why `msg` is not a QueuedMessage the sink can deliver, or undefined if it is one. */
export function invalidMessage(msg: unknown): string | undefined {
  if (!msg || typeof msg !== "object") return "message is not an object";
  const m = msg as Record<string, unknown>;
  if (typeof m.kind !== "string" || !MESSAGE_KINDS.has(m.kind)) return "unknown message kind";
  switch (m.kind) {
    case "event": {
      const event = m.event as Record<string, unknown> | undefined;
      if (typeof m.key !== "string" || m.key.length === 0) return "event without key";
      if (!event || typeof event !== "object" || typeof event.topicName !== "string")
        return "event without topicName";
      return undefined;
    }
    case "event-pointer":
      return typeof m.key === "string" && typeof m.topicName === "string" && typeof m.objectKey === "string"
        ? undefined
        : "pointer without key, topicName or objectKey";
    default:
      return Array.isArray(m.topics) && typeof m.start === "string" && typeof m.end === "string"
        ? undefined
        : "gap without topics, start or end";
  }
}

/** A spooled line parsed back into a message, or undefined when it is not one. */
export function parseSpooled(line: string): QueuedMessage | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return invalidMessage(v) === undefined ? (v as QueuedMessage) : undefined;
  } catch {
    return undefined;
  }
}
