/**
 * Exact bookkeeping of every event the simulator published, whether or not any socket could receive it:
 * per event its topic, per-topic sequence, CorrelationId (or none), publish time, content key, whether it
 * repeats an earlier event exactly, and the sockets it was written to. Stored in growable typed arrays
 * (about 40 bytes per event) so 1M+ events stay cheap; entries are materialised only when asked for.
 */
import type { NotificationEnvelope } from "../shared/contracts.ts";
import { envelopeContentKey } from "./content-key.ts";

export interface LedgerEntry {
  topic: string;
  sequence: number;
  /** undefined when the event carried no CorrelationId. */
  correlationId: string | undefined;
  /** Epoch milliseconds of the publish (same as `emittedAt`). */
  publishedAt: number;
  /** @deprecated alias of publishedAt. */
  emittedAt: number;
  /** Content identity (sim/content-key.ts); undefined for events recorded without one. */
  contentKey: string | undefined;
  /** True when this event repeats an earlier event's topic, body and CorrelationId exactly. */
  identical: boolean;
  deliveredSockets: number;
  /** Ids of the sockets the event was written to (and not retracted). */
  sockets: string[];
}

export interface LedgerSummary {
  /** Every event published since the last clear(). */
  published: number;
  /** @deprecated alias of published. */
  emitted: number;
  /** Written to at least one socket. */
  delivered: number;
  undelivered: number;
  /** Events that repeat an earlier event exactly. */
  identical: number;
}

/**
 * What a receiver saw. With `contentKey` (receivedRef sets it) events are matched by content as a
 * multiset, so legitimately identical events each need their own copy; otherwise by (topicName,
 * sequence), else by correlationId.
 */
export interface ReceivedRef {
  topicName: string;
  sequence?: number;
  correlationId?: string;
  contentKey?: string;
}

export interface MissingOptions {
  topic?: string;
  /** Only count events the simulator wrote to at least one socket. */
  onlyDelivered?: boolean;
}

export interface RecordOptions {
  /** null = the event has no CorrelationId; undefined = the ledger derives a unique one. */
  correlationId?: string | null;
  identical?: boolean;
}

const INITIAL_CAPACITY = 1024;
const FLAG_IDENTICAL = 1;
const FLAG_HAS_KEY = 2;
const FLAG_NO_CORRELATION = 4;

export class Ledger {
  private topicNames: string[] = [];
  private topicIds = new Map<string, number>();
  private nextSequence: number[] = [];
  /** Running counts since the last clear(), per topic id, so summary() is O(1). */
  private emittedByTopic: number[] = [];
  private deliveredByTopic: number[] = [];
  private identicalCount = 0;
  private topicOf = new Uint32Array(INITIAL_CAPACITY);
  private sequenceOf = new Uint32Array(INITIAL_CAPACITY);
  private timeOf = new Float64Array(INITIAL_CAPACITY);
  private deliveredOf = new Uint16Array(INITIAL_CAPACITY);
  private keyHi = new Uint32Array(INITIAL_CAPACITY);
  private keyLo = new Uint32Array(INITIAL_CAPACITY);
  private flagsOf = new Uint8Array(INITIAL_CAPACITY);
  /** First two sockets an event was written to (socket serials, 0 = none); more go to `moreSockets`. */
  private socketA = new Uint32Array(INITIAL_CAPACITY);
  private socketB = new Uint32Array(INITIAL_CAPACITY);
  private moreSockets = new Map<number, number[]>();
  private socketNames: string[] = [""];
  private customCorrelationIds = new Map<number, string>();
  /** Events recorded before the last clear() keep their ids; index = base + position. */
  private base = 0;
  private size = 0;

  constructor(private readonly correlationPrefix: string) {}

  /** A socket's serial for `addDelivered` (serials are never reused). */
  registerSocket(id: string): number {
    this.socketNames.push(id);
    return this.socketNames.length - 1;
  }

  /**
   * Records a new event; returns its global index and per-topic sequence. The third argument is the
   * CorrelationId override (string) or RecordOptions.
   */
  record(
    topic: string,
    publishedAt: number,
    correlation?: string | RecordOptions,
  ): { index: number; sequence: number } {
    const opts: RecordOptions =
      typeof correlation === "string" ? { correlationId: correlation } : (correlation ?? {});
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
    this.timeOf[pos] = publishedAt;
    this.deliveredOf[pos] = 0;
    this.socketA[pos] = 0;
    this.socketB[pos] = 0;
    let flags = 0;
    if (opts.identical) {
      flags |= FLAG_IDENTICAL;
      this.identicalCount++;
    }
    const index = this.base + pos;
    if (opts.correlationId === null) flags |= FLAG_NO_CORRELATION;
    else if (opts.correlationId !== undefined) this.customCorrelationIds.set(index, opts.correlationId);
    this.flagsOf[pos] = flags;
    return { index, sequence };
  }

  /** The CorrelationId of event `index`: uuid-shaped and unique unless it was given, or none. */
  correlationIdOf(index: number): string | undefined {
    const pos = index - this.base;
    if (pos >= 0 && pos < this.size && (this.flagsOf[pos]! & FLAG_NO_CORRELATION) !== 0) return undefined;
    return (
      this.customCorrelationIds.get(index) ??
      `${this.correlationPrefix}${index.toString(16).padStart(12, "0")}`
    );
  }

  /** Sets the content key (16 hex characters) of event `index`. */
  setContentKey(index: number, key: string): void {
    const pos = index - this.base;
    if (pos < 0 || pos >= this.size) return;
    this.keyHi[pos] = Number.parseInt(key.slice(0, 8), 16);
    this.keyLo[pos] = Number.parseInt(key.slice(8, 16), 16);
    this.flagsOf[pos]! |= FLAG_HAS_KEY;
  }

  /** Event `index` was written to `sockets` sockets; `serials` (from registerSocket) names them. */
  addDelivered(index: number, sockets: number, serials?: readonly number[]): void {
    const pos = index - this.base;
    if (pos < 0 || pos >= this.size || sockets <= 0) return;
    if (this.deliveredOf[pos] === 0) this.deliveredByTopic[this.topicOf[pos]!]!++;
    this.deliveredOf[pos] = Math.min(0xffff, this.deliveredOf[pos]! + sockets);
    for (const serial of serials ?? []) this.addSocket(pos, serial);
  }

  /** Undo one delivery (the socket was destroyed before the frame left the process). */
  retractDelivery(index: number, serial?: number): void {
    const pos = index - this.base;
    if (pos < 0 || pos >= this.size) return;
    if (this.deliveredOf[pos] === 0) return;
    this.deliveredOf[pos] = this.deliveredOf[pos]! - 1;
    if (this.deliveredOf[pos] === 0) this.deliveredByTopic[this.topicOf[pos]!]!--;
    if (serial !== undefined) this.removeSocket(pos, serial);
  }

  /** Number of events recorded since the last clear(). */
  total(): number {
    return this.size;
  }

  /** O(1): published, written to >= 1 socket, to none, and identical repeats since the last clear(). */
  summary(topic?: string): LedgerSummary {
    const topicId = this.resolveTopic(topic);
    if (topicId === null) return { published: 0, emitted: 0, delivered: 0, undelivered: 0, identical: 0 };
    const published = topicId === undefined ? this.size : this.emittedByTopic[topicId]!;
    const delivered =
      topicId === undefined
        ? this.deliveredByTopic.reduce((a, b) => a + b, 0)
        : this.deliveredByTopic[topicId]!;
    const identical = topicId === undefined ? this.identicalCount : this.count(topicId, FLAG_IDENTICAL);
    return { published, emitted: published, delivered, undelivered: published - delivered, identical };
  }

  /** Every event published since the last clear(), in publish order. */
  published(topic?: string): LedgerEntry[] {
    return this.select(topic, () => true);
  }

  /** @deprecated alias of published(). */
  emitted(topic?: string): LedgerEntry[] {
    return this.published(topic);
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
    const byContent = new Map<string, number>();
    for (const ref of received) {
      if (ref.contentKey !== undefined)
        byContent.set(ref.contentKey, (byContent.get(ref.contentKey) ?? 0) + 1);
      else if (ref.sequence !== undefined) bySequence.add(`${ref.topicName}\u0000${ref.sequence}`);
      else if (ref.correlationId !== undefined) byCorrelation.add(ref.correlationId);
    }
    return this.select(options.topic, (pos) => {
      if (options.onlyDelivered && this.deliveredOf[pos] === 0) return false;
      if (byContent.size > 0 && (this.flagsOf[pos]! & FLAG_HAS_KEY) !== 0) {
        const key = this.keyAt(pos);
        const copies = byContent.get(key) ?? 0;
        if (copies > 0) {
          byContent.set(key, copies - 1);
          return false;
        }
      }
      const key = `${this.topicNames[this.topicOf[pos]!]}\u0000${this.sequenceOf[pos]}`;
      if (bySequence.has(key)) return false;
      const correlationId = this.correlationIdOf(this.base + pos);
      return correlationId === undefined || !byCorrelation.has(correlationId);
    });
  }

  /** Forgets all records; per-topic sequences keep counting so later events stay distinct. */
  clear(): void {
    this.base += this.size;
    this.size = 0;
    this.customCorrelationIds.clear();
    this.moreSockets.clear();
    this.emittedByTopic.fill(0);
    this.deliveredByTopic.fill(0);
    this.identicalCount = 0;
  }

  private count(topicId: number, flag: number): number {
    let n = 0;
    for (let pos = 0; pos < this.size; pos++) {
      if (this.topicOf[pos] === topicId && (this.flagsOf[pos]! & flag) !== 0) n++;
    }
    return n;
  }

  private addSocket(pos: number, serial: number): void {
    if (this.socketA[pos] === 0) this.socketA[pos] = serial;
    else if (this.socketB[pos] === 0) this.socketB[pos] = serial;
    else {
      const more = this.moreSockets.get(this.base + pos) ?? [];
      more.push(serial);
      this.moreSockets.set(this.base + pos, more);
    }
  }

  private removeSocket(pos: number, serial: number): void {
    const more = this.moreSockets.get(this.base + pos);
    const at = more?.lastIndexOf(serial) ?? -1;
    if (more && at >= 0) {
      more.splice(at, 1);
      if (more.length === 0) this.moreSockets.delete(this.base + pos);
    } else if (this.socketB[pos] === serial) this.socketB[pos] = 0;
    else if (this.socketA[pos] === serial) {
      this.socketA[pos] = this.socketB[pos]!;
      this.socketB[pos] = 0;
    }
  }

  private socketsAt(pos: number): string[] {
    const serials = [
      this.socketA[pos]!,
      this.socketB[pos]!,
      ...(this.moreSockets.get(this.base + pos) ?? []),
    ];
    return serials.filter((serial) => serial !== 0).map((serial) => this.socketNames[serial] ?? `#${serial}`);
  }

  private keyAt(pos: number): string {
    return this.keyHi[pos]!.toString(16).padStart(8, "0") + this.keyLo[pos]!.toString(16).padStart(8, "0");
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
    const flags = this.flagsOf[pos]!;
    return {
      topic: this.topicNames[this.topicOf[pos]!]!,
      sequence: this.sequenceOf[pos]!,
      correlationId: this.correlationIdOf(this.base + pos),
      publishedAt: this.timeOf[pos]!,
      emittedAt: this.timeOf[pos]!,
      contentKey: (flags & FLAG_HAS_KEY) !== 0 ? this.keyAt(pos) : undefined,
      identical: (flags & FLAG_IDENTICAL) !== 0,
      deliveredSockets: this.deliveredOf[pos]!,
      sockets: this.socketsAt(pos),
    };
  }

  private grow(): void {
    const capacity = this.topicOf.length * 2;
    this.topicOf = growTo(this.topicOf, new Uint32Array(capacity));
    this.sequenceOf = growTo(this.sequenceOf, new Uint32Array(capacity));
    this.timeOf = growTo(this.timeOf, new Float64Array(capacity));
    this.deliveredOf = growTo(this.deliveredOf, new Uint16Array(capacity));
    this.keyHi = growTo(this.keyHi, new Uint32Array(capacity));
    this.keyLo = growTo(this.keyLo, new Uint32Array(capacity));
    this.flagsOf = growTo(this.flagsOf, new Uint8Array(capacity));
    this.socketA = growTo(this.socketA, new Uint32Array(capacity));
    this.socketB = growTo(this.socketB, new Uint32Array(capacity));
  }
}

type TypedArray = Uint32Array | Float64Array | Uint16Array | Uint8Array;

function growTo<T extends TypedArray>(from: T, to: T): T {
  (to as Uint8Array).set(from as Uint8Array);
  return to;
}

/** Extracts what a receiver needs to hand to `missingFrom` from a received envelope. */
export function receivedRef(envelope: NotificationEnvelope): ReceivedRef {
  const body = envelope.eventBody as { sequence?: unknown } | null | undefined;
  const sequence = typeof body?.sequence === "number" ? body.sequence : undefined;
  const correlationId = envelope.metadata?.CorrelationId;
  return { topicName: envelope.topicName, sequence, correlationId, contentKey: envelopeContentKey(envelope) };
}
