import type { QueuedMessage } from "../../shared/contracts.ts";

/** An event the source emitted (the simulator's ledger entry). */
export interface EmittedEvent {
  topic: string;
  sequence: number;
  correlationId: string;
}

/** What ended up in the queue compared with what was emitted. */
export interface Reconciliation {
  emitted: number;
  /** Distinct emitted events found in the queue at least once. */
  delivered: number;
  /** Emitted events not in the queue. */
  lost: number;
  /** Extra copies in the queue of an event already counted (same event, more than one message). */
  duplicates: number;
  /** Event messages in the queue that match nothing emitted (should be 0 with the simulator). */
  unknown: number;
  /** Event messages seen, duplicates included. */
  eventMessages: number;
  /** `tokenstream.gap` messages and their total duration. */
  gaps: number;
  gapMs: number;
  /** Up to `sampleLimit` lost events, for the report. */
  lostSample: EmittedEvent[];
}

/**
 * Identity of an event across the whole run: its CorrelationId (unique per simulator event), else topic and
 * the generator's per-topic sequence. The worker's own de-duplication key is deliberately not used, so a
 * worker that wrote one event twice under different keys is still caught as a duplicate.
 */
export function eventIdentity(message: QueuedMessage): string | undefined {
  if (message.kind !== "event") return undefined;
  const correlationId = message.event.metadata?.CorrelationId;
  if (typeof correlationId === "string" && correlationId !== "") return `c:${correlationId}`;
  const body = message.event.eventBody as { sequence?: unknown } | null;
  if (body && typeof body === "object" && typeof body.sequence === "number") {
    return `s:${message.event.topicName}#${body.sequence}`;
  }
  return undefined;
}

export function reconcile(
  emitted: Iterable<EmittedEvent>,
  received: Iterable<QueuedMessage>,
  sampleLimit = 10,
): Reconciliation {
  const copies = new Map<string, number>();
  let eventMessages = 0;
  let gaps = 0;
  let gapMs = 0;
  let unidentified = 0;
  for (const message of received) {
    if (message.kind === "gap") {
      gaps += 1;
      gapMs += message.durationMs;
      continue;
    }
    eventMessages += 1;
    const identity = eventIdentity(message);
    if (identity === undefined) unidentified += 1;
    else copies.set(identity, (copies.get(identity) ?? 0) + 1);
  }

  let emittedCount = 0;
  let delivered = 0;
  let duplicates = 0;
  const lostSample: EmittedEvent[] = [];
  const matched = new Set<string>();
  for (const event of emitted) {
    emittedCount += 1;
    const byCorrelation = `c:${event.correlationId}`;
    const bySequence = `s:${event.topic}#${event.sequence}`;
    const identity = copies.has(byCorrelation)
      ? byCorrelation
      : copies.has(bySequence)
        ? bySequence
        : undefined;
    if (identity === undefined || matched.has(identity)) {
      if (lostSample.length < sampleLimit) lostSample.push(event);
      continue;
    }
    matched.add(identity);
    delivered += 1;
    duplicates += (copies.get(identity) ?? 1) - 1;
  }
  let unknown = unidentified;
  for (const [identity, count] of copies) if (!matched.has(identity)) unknown += count;

  return {
    emitted: emittedCount,
    delivered,
    lost: emittedCount - delivered,
    duplicates,
    unknown,
    eventMessages,
    gaps,
    gapMs,
    lostSample,
  };
}
