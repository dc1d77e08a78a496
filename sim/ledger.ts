/**
 * Exact bookkeeping of every event the simulator published: per event its topic, per-topic sequence,
 * CorrelationId, time and the number of sockets it was written to. Stored in growable typed arrays
 * (about 18 bytes per event) so 1M+ events stay cheap; entries are materialised only when asked for.
 */
import type { NotificationEnvelope } from "../shared/contracts.ts";

export interface LedgerEntry {
  topic: string;
  sequence: number;
  correlationId: string;
  /** Epoch milliseconds. */
  emittedAt: number;
  deliveredSockets: number;
}

export interface LedgerSummary {
  emitted: number;
  delivered: number;
  undelivered: number;
}

/** What a receiver saw: match by (topicName, sequence) when the sequence is known, else by correlationId. */
export interface ReceivedRef {
  topicName: string;
  sequence?: number;
  correlationId?: string;
}

export interface MissingOptions {
  topic?: string;
  /** Only count events the simulator wrote to at least one socket. */
  onlyDelivered?: boolean;
}

const INITIAL_CAPACITY = 1024;

export class Ledger {
  private topicNames: string[] = [];
  private topicIds = new Map<string, number>();
  private nextSequence: number[] = [];
  /** Running counts since the last clear(), per topic id, so summary() is O(1). */
  private emittedByTopic: number[] = [];
  private deliveredByTopic: number[] = [];
  private topicOf = new Uint32Array(INITIAL_CAPACITY);
  private sequenceOf = new Uint32Array(INITIAL_CAPACITY);
  private timeOf = new Float64Array(INITIAL_CAPACITY);
  private deliveredOf = new Uint16Array(INITIAL_CAPACITY);
  private customCorrelationIds = new Map<number, string>();
  /** Events recorded before the last clear() keep their ids; index = base + position. */
  private base = 0;
  private size = 0;

  constructor(private readonly correlationPrefix: string) {}

  /** Records a new event; returns its global index and per-topic sequence. */
  record(topic: string, emittedAt: number, correlationId?: string): { index: number; sequence: number } {
    let topicId = this.topicIds.get(topic);
    if (topicId === undefined) {
      topicId = this.topicNames.length;
      this.topicNames.push(topic);
      this.topicIds.set(topic, topicId);
      this.nextSequence.push(1);
      this.emittedByTopic.push(0);
      this.deliveredByTopic.push(0);
    }
    this.emittedByTopic[topicId]!++;
    const sequence = this.nextSequence[topicId]!;
    this.nextSequence[topicId] = sequence + 1;
    if (this.size === this.topicOf.length) this.grow();
    const pos = this.size++;
    this.topicOf[pos] = topicId;
    this.sequenceOf[pos] = sequence;
    this.timeOf[pos] = emittedAt;
    this.deliveredOf[pos] = 0;
    const index = this.base + pos;
    if (correlationId !== undefined) this.customCorrelationIds.set(index, correlationId);
    return { index, sequence };
  }

  /** The CorrelationId of event `index`: uuid-shaped, unique per simulator, derived from the index. */
  correlationIdOf(index: number): string {
    return (
      this.customCorrelationIds.get(index) ??
      `${this.correlationPrefix}${index.toString(16).padStart(12, "0")}`
    );
  }

  addDelivered(index: number, sockets: number): void {
    const pos = index - this.base;
    if (pos < 0 || pos >= this.size || sockets <= 0) return;
    if (this.deliveredOf[pos] === 0) this.deliveredByTopic[this.topicOf[pos]!]!++;
    this.deliveredOf[pos] = Math.min(0xffff, this.deliveredOf[pos]! + sockets);
  }

  /** Undo one delivery (the socket was destroyed before the frame left the process). */
  retractDelivery(index: number): void {
    const pos = index - this.base;
    if (pos < 0 || pos >= this.size) return;
    if (this.deliveredOf[pos] === 0) return;
    this.deliveredOf[pos] = this.deliveredOf[pos]! - 1;
    if (this.deliveredOf[pos] === 0) this.deliveredByTopic[this.topicOf[pos]!]!--;
  }

  /** Number of events recorded since the last clear(). */
  total(): number {
    return this.size;
  }

  /** O(1): emitted, delivered (to >= 1 socket) and undelivered events since the last clear(). */
  summary(topic?: string): LedgerSummary {
    const topicId = this.resolveTopic(topic);
    if (topicId === null) return { emitted: 0, delivered: 0, undelivered: 0 };
    const emitted = topicId === undefined ? this.size : this.emittedByTopic[topicId]!;
    const delivered =
      topicId === undefined
        ? this.deliveredByTopic.reduce((a, b) => a + b, 0)
        : this.deliveredByTopic[topicId]!;
    return { emitted, delivered, undelivered: emitted - delivered };
  }

  emitted(topic?: string): LedgerEntry[] {
    return this.select(topic, () => true);
  }

  delivered(topic?: string): LedgerEntry[] {
    return this.select(topic, (pos) => this.deliveredOf[pos]! > 0);
  }

  undelivered(topic?: string): LedgerEntry[] {
    return this.select(topic, (pos) => this.deliveredOf[pos] === 0);
  }

  /** Topics with at least one recorded event since the last clear(). */
  topics(): string[] {
    return this.topicNames.filter((_, id) => this.emittedByTopic[id]! > 0);
  }

  entry(topic: string, sequence: number): LedgerEntry | undefined {
    const topicId = this.topicIds.get(topic);
    if (topicId === undefined) return undefined;
    for (let pos = 0; pos < this.size; pos++) {
      if (this.topicOf[pos] === topicId && this.sequenceOf[pos] === sequence) return this.entryAt(pos);
    }
    return undefined;
  }

  /** Events recorded (optionally: delivered) that `received` does not contain. */
  missingFrom(received: Iterable<ReceivedRef>, options: MissingOptions = {}): LedgerEntry[] {
    const bySequence = new Set<string>();
    const byCorrelation = new Set<string>();
    for (const ref of received) {
      if (ref.sequence !== undefined) bySequence.add(`${ref.topicName}\u0000${ref.sequence}`);
      else if (ref.correlationId !== undefined) byCorrelation.add(ref.correlationId);
    }
    return this.select(options.topic, (pos) => {
      if (options.onlyDelivered && this.deliveredOf[pos] === 0) return false;
      const key = `${this.topicNames[this.topicOf[pos]!]}\u0000${this.sequenceOf[pos]}`;
      if (bySequence.has(key)) return false;
      return !byCorrelation.has(this.correlationIdOf(this.base + pos));
    });
  }

  /** Forgets all records; per-topic sequences keep counting so later events stay distinct. */
  clear(): void {
    this.base += this.size;
    this.size = 0;
    this.customCorrelationIds.clear();
    this.emittedByTopic.fill(0);
    this.deliveredByTopic.fill(0);
  }

  private resolveTopic(topic: string | undefined): number | undefined | null {
    if (topic === undefined) return undefined;
    return this.topicIds.get(topic) ?? null;
  }

  private select(topic: string | undefined, keep: (pos: number) => boolean): LedgerEntry[] {
    const topicId = this.resolveTopic(topic);
    const out: LedgerEntry[] = [];
    if (topicId === null) return out;
    for (let pos = 0; pos < this.size; pos++) {
      if (topicId !== undefined && this.topicOf[pos] !== topicId) continue;
      if (keep(pos)) out.push(this.entryAt(pos));
    }
    return out;
  }

  private entryAt(pos: number): LedgerEntry {
    return {
      topic: this.topicNames[this.topicOf[pos]!]!,
      sequence: this.sequenceOf[pos]!,
      correlationId: this.correlationIdOf(this.base + pos),
      emittedAt: this.timeOf[pos]!,
      deliveredSockets: this.deliveredOf[pos]!,
    };
  }

  private grow(): void {
    const capacity = this.topicOf.length * 2;
    this.topicOf = growTo(this.topicOf, new Uint32Array(capacity));
    this.sequenceOf = growTo(this.sequenceOf, new Uint32Array(capacity));
    this.timeOf = growTo(this.timeOf, new Float64Array(capacity));
    this.deliveredOf = growTo(this.deliveredOf, new Uint16Array(capacity));
  }
}

function growTo<T extends Uint32Array | Float64Array | Uint16Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Extracts what a receiver needs to hand to `missingFrom` from a received envelope. */
export function receivedRef(envelope: NotificationEnvelope): ReceivedRef {
  const body = envelope.eventBody as { sequence?: unknown } | null | undefined;
  const sequence = typeof body?.sequence === "number" ? body.sequence : undefined;
  const correlationId = envelope.metadata?.CorrelationId;
  return { topicName: envelope.topicName, sequence, correlationId };
}
