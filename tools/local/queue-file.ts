import { readFileSync } from "node:fs";
import type { QueuedMessage } from "../../shared/contracts.ts";

/** Reads the consumer's JSONL file back; lines that are not queue messages are counted, not fatal. */
export function readQueuedMessages(path: string): { messages: QueuedMessage[]; unreadable: number } {
  const messages: QueuedMessage[] = [];
  let unreadable = 0;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const value = JSON.parse(line) as QueuedMessage;
      if (value && typeof value === "object" && typeof value.kind === "string") messages.push(value);
      else unreadable += 1;
    } catch {
      unreadable += 1;
    }
  }
  return { messages, unreadable };
}
