/**
 * Cross-session de-duplication (DESIGN.md section 4).
 *
 * Content = topicName + canonical eventBody + CorrelationId. Each session numbers identical content it
 * receives: the k-th identical event on ONE session gets ordinal k, so it stays a distinct event.
 * Event key = SHA-256 hex of (content, ordinal). A key already accepted (from any session) within the
 * window is a duplicate: the same upstream event delivered over several redundant sessions is emitted once.
 *
 * Because ordinals count per session, "key (content, k) already accepted" is the same as "some session has
 * already seen this content at least k times", so one record per distinct content is kept: the highest
 * ordinal accepted plus each session's count. Records are indexed by the ordinal-1 key (so the common case
 * costs one hash). A record is forgotten once it has not been seen for `windowMs`; expiry runs at most every
 * windowMs/10, and a record still being seen is moved to the back then, so each record lives between
 * windowMs and about 2 x windowMs after its last sighting: memory is bounded by the event rate times the window.
 *
 * SHA-256 comes from node:crypto (synchronous, no I/O), the same primitive shared/fingerprint.ts uses.
 */
import * as crypto from "node:crypto";
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import { canonicalJson } from "./canonical-json.ts";

// crypto.hash (Node >= 20.12) is a one-shot digest, several times faster than createHash for short inputs.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

export function sha256Hex(text: string): string {
  return oneShot
    ? oneShot("sha256", text, "hex")
    : crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

/** The identity of an event's content, independent of which session delivered it. */
export function contentText(envelope: NotificationEnvelope): string {
  const correlationId = envelope.metadata?.CorrelationId;
  const cid = correlationId === undefined ? "null" : JSON.stringify(String(correlationId));
  return `[${JSON.stringify(String(envelope.topicName))},${canonicalJson(envelope.eventBody)},${cid}`;
}

function keyOf(content: string, ordinal: number): string {
  return sha256Hex(`${content},${ordinal}]`);
}

/** De-duplication key: SHA-256 hex of topicName + canonical eventBody + CorrelationId + per-session ordinal. */
export function eventKey(envelope: NotificationEnvelope, ordinal: number): string {
  return keyOf(contentText(envelope), ordinal);
}

export interface DedupeDecision {
  emit: boolean;
  key: string;
  ordinal: number;
}

interface ContentRecord {
  /** Highest ordinal accepted for this content, across sessions. */
  maxAccepted: number;
  /** Identical events seen per session: parallel arrays (usually 1-3 sessions; far lighter than a Map). */
  sessions: string[];
  counts: number[];
  lastSeenMs: number;
  /** When the record took its place in the map's order (non-decreasing along the map). */
  placedMs: number;
}

export interface CrossSessionDeduperOptions {
  /** How long a content record is remembered after its last sighting. */
  windowMs: number;
}

export class CrossSessionDeduper {
  readonly windowMs: number;
  // Map iteration order == insertion order == placedMs order, so expiry is a prefix scan.
  readonly #records = new Map<string, ContentRecord>();
  #lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(
    opts: CrossSessionDeduperOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isFinite(opts.windowMs) || opts.windowMs <= 0) {
      throw new RangeError(`windowMs must be a positive number, got ${opts.windowMs}`);
    }
    this.windowMs = opts.windowMs;
  }

  accept(sessionId: string, envelope: NotificationEnvelope): DedupeDecision {
    const nowMs = this.now();
    if (nowMs - this.#lastSweepMs >= this.windowMs / 10) this.evictExpired(nowMs);
    const content = contentText(envelope);
    const contentId = keyOf(content, 1);
    let record = this.#records.get(contentId);
    if (!record) {
      record = { maxAccepted: 0, sessions: [], counts: [], lastSeenMs: nowMs, placedMs: nowMs };
      this.#records.set(contentId, record);
    }
    let slot = record.sessions.indexOf(sessionId);
    if (slot < 0) {
      slot = record.sessions.push(sessionId) - 1;
      record.counts.push(0);
    }
    const ordinal = record.counts[slot]! + 1;
    record.counts[slot] = ordinal;
    record.lastSeenMs = nowMs;
    const emit = ordinal > record.maxAccepted;
    if (emit) record.maxAccepted = ordinal;
    return { emit, key: ordinal === 1 ? contentId : keyOf(content, ordinal), ordinal };
  }

  /** Distinct contents currently remembered (the memory bound under test). */
  size(): number {
    return this.#records.size;
  }

  /** Forgets every record not seen for `windowMs`. */
  evictExpired(nowMs: number = this.now()): void {
    this.#lastSweepMs = nowMs;
    const moved: Array<[string, ContentRecord]> = [];
    for (const [id, record] of this.#records) {
      if (nowMs - record.placedMs < this.windowMs) break;
      this.#records.delete(id);
      if (nowMs - record.lastSeenMs < this.windowMs) {
        record.placedMs = nowMs;
        moved.push([id, record]);
      }
    }
    for (const [id, record] of moved) this.#records.set(id, record);
  }
}
