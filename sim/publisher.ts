/** Builds the upstream envelope for an event, delivers it and records it in the ledger. */
import type { NotificationEnvelope } from "../shared/contracts.ts";
import type { Hub } from "./hub.ts";
import type { Ledger } from "./ledger.ts";
import type { Random } from "./random.ts";
import type { PublishedEvent, SimulatorCounters } from "./types.ts";

/** eventBody of generated events: the sequence lets a receiver be checked against the ledger. */
export interface GeneratedEventBody {
  sequence: number;
  topic: string;
  emittedAt: string;
  data: { value: number };
}

export class Publisher {
  constructor(
    private readonly hub: Hub,
    private readonly ledger: Ledger,
    private readonly counters: SimulatorCounters,
    private readonly random: Random,
  ) {}

  publish(topic: string, body?: unknown, correlationIdOverride?: string): PublishedEvent {
    const now = Date.now();
    const { index, sequence } = this.ledger.record(topic, now, correlationIdOverride);
    const correlationId = correlationIdOverride ?? this.ledger.correlationIdOf(index);
    const eventBody: unknown =
      body !== undefined
        ? body
        : ({
            sequence,
            topic,
            emittedAt: new Date(now).toISOString(),
            data: { value: this.random.int(1_000_000) },
          } satisfies GeneratedEventBody);
    const envelope: NotificationEnvelope = {
      topicName: topic,
      version: "2",
      eventBody,
      metadata: { CorrelationId: correlationId },
    };
    const deliveredSockets = this.hub.deliver(topic, Buffer.from(JSON.stringify(envelope)), index);
    this.ledger.addDelivered(index, deliveredSockets);
    this.counters.eventsEmitted++;
    this.counters.eventFramesSent += deliveredSockets;
    if (deliveredSockets === 0) this.counters.eventsUndelivered++;
    return { topic, sequence, correlationId, envelope, deliveredSockets };
  }
}
