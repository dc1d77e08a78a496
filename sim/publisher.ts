/**
 * Builds the upstream envelope for an event, writes it to every socket subscribed to its topic and records
 * it in the ledger (publish time, content key, the sockets it was written to), whether or not any socket
 * could receive it.
 */
import type { NotificationEnvelope } from "../shared/contracts.ts";
import { contentKey } from "./content-key.ts";
import type { Hub } from "./hub.ts";
import type { Ledger } from "./ledger.ts";
import type { Random } from "./random.ts";
import type { PublishedEvent, SimulatorCounters } from "./types.ts";

/** eventBody of generated events: the sequence lets a receiver be checked against the ledger. */
export interface GeneratedEventBody {
  sequence: number;
  topic: string;
  emittedAt: string;
  data: { value: number; padding?: string };
}

export interface PublishSpec {
  /** Without a body the eventBody is the generator's. */
  body?: unknown;
  /** undefined = a unique id derived by the ledger; null = no CorrelationId at all. */
  correlationId?: string | null;
  /** Pads a generated body so the whole frame is this many bytes (large events). */
  frameBytes?: number;
}

/** What a later identical repeat needs: the exact frame and its identity. */
interface PublishedFrame {
  frame: Buffer;
  contentKey: string;
}

export class Publisher {
  private readonly frames = new WeakMap<PublishedEvent, PublishedFrame>();

  constructor(
    private readonly hub: Hub,
    private readonly ledger: Ledger,
    private readonly counters: SimulatorCounters,
    private readonly random: Random,
  ) {}

  publish(topic: string, spec: PublishSpec = {}): PublishedEvent {
    const now = Date.now();
    const { index, sequence } = this.ledger.record(topic, now, { correlationId: spec.correlationId });
    const correlationId = this.ledger.correlationIdOf(index);
    const generated: GeneratedEventBody = {
      sequence,
      topic,
      emittedAt: new Date(now).toISOString(),
      data: { value: this.random.int(1_000_000) },
    };
    const eventBody: unknown = spec.body !== undefined ? spec.body : generated;
    const envelope: NotificationEnvelope = {
      topicName: topic,
      version: "2",
      eventBody,
      metadata: correlationId === undefined ? {} : { CorrelationId: correlationId },
    };
    let frameJson = JSON.stringify(envelope);
    if (spec.body === undefined && spec.frameBytes !== undefined) {
      const overhead = Buffer.byteLength(frameJson) + ',"padding":""'.length;
      generated.data.padding = "x".repeat(Math.max(0, spec.frameBytes - overhead));
      frameJson = JSON.stringify(envelope);
    }
    const key = contentKey(topic, correlationId, JSON.stringify(eventBody));
    const frame = Buffer.from(frameJson);
    const event: PublishedEvent = {
      topic,
      sequence,
      correlationId,
      envelope,
      contentKey: key,
      identical: false,
      deliveredSockets: 0,
      queuedSockets: 0,
      sizeBytes: frame.length,
    };
    this.frames.set(event, { frame, contentKey: key });
    this.send(index, key, frame, event);
    return event;
  }

  /** Publishes `previous` again, byte for byte: a distinct upstream event that is legitimately identical. */
  republish(previous: PublishedEvent): PublishedEvent {
    const original = this.frames.get(previous);
    if (!original) throw new Error("republish needs an event returned by this publisher");
    const { index, sequence } = this.ledger.record(previous.topic, Date.now(), {
      correlationId: previous.correlationId ?? null,
      identical: true,
    });
    const event: PublishedEvent = {
      ...previous,
      sequence,
      identical: true,
      deliveredSockets: 0,
      queuedSockets: 0,
    };
    this.frames.set(event, original);
    this.send(index, original.contentKey, original.frame, event);
    return event;
  }

  private send(index: number, key: string, frame: Buffer, event: PublishedEvent): void {
    this.ledger.setContentKey(index, key);
    const { serials, queued } = this.hub.deliver(event.topic, frame, index);
    this.ledger.addDelivered(index, serials.length, serials);
    event.deliveredSockets = serials.length;
    event.queuedSockets = queued;
    this.counters.eventsEmitted++;
    this.counters.eventFramesSent += serials.length;
    if (serials.length === 0 && queued === 0) this.counters.eventsUndelivered++;
  }
}
