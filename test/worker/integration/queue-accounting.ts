/**
 * Loss and duplicate accounting of an e2e run by tools/local/reconcile.ts (the figures the chaos bench
 * reports), plus what only the queue itself knows: the MessageDeduplicationId of every message.
 */
import { type Reconciliation, reconcile } from "../../../tools/local/reconcile.ts";
import type { Harness } from "./harness.ts";

export interface QueueAccounting extends Reconciliation {
  /** Published per topic, and how many of them are lost outside every gap for that topic. */
  byTopic: Map<string, Reconciliation>;
}

/** Everything the simulator published against everything in the queue, overall and per topic. */
export function accountQueue(h: Harness): QueueAccounting {
  const published = h.sim.ledger.published();
  const messages = h.messages();
  const byTopic = new Map<string, Reconciliation>();
  for (const topic of new Set(published.map((e) => e.topic))) {
    const own = messages.filter(
      (m) => m.kind === "gap" || (m.kind === "event" && m.event.topicName === topic),
    );
    byTopic.set(
      topic,
      reconcile(
        published.filter((e) => e.topic === topic),
        own,
      ),
    );
  }
  return { ...reconcile(published, messages), byTopic };
}

/** The MessageDeduplicationId of every message in the queue (FIFO), in queue order. */
export function deduplicationIds(h: Harness): string[] {
  const q = h.fauxqs.inspectQueue(h.queueName);
  if (!q) return [];
  const all = [...q.messages.ready, ...q.messages.delayed, ...q.messages.inflight.map((i) => i.message)];
  return all.map((m) => m.messageDeduplicationId ?? "");
}
