/**
 * Cross-session de-duplication (DESIGN.md section 4).
 *
 * Content = topicName + canonical eventBody + CorrelationId. Each session numbers identical content it
 * receives: the k-th identical event on ONE session gets ordinal k, so it stays a distinct event.
 * Event key = SHA-256 hex of (content, ordinal). A key already accepted (from any session) within the
 * window is a duplicate: the same upstream event delivered over several redundant sessions is emitted once.
 *
 * Because ordinals count per session, "key (content, k) already accepted" is the same as "some session has
 * already seen this content at least k times", so one record per distinct content is kept: each session's
 * count (the highest ordinal accepted is the largest of them). Records are indexed by the first 128 bits of
 * the ordinal-1 key (so the common case costs one hash).
 *
 * Memory is bounded by the event rate times the window, and that product is large (5k events/s over 60 s is
 * 300k records), so records are kept off the garbage-collected heap: content seen once by each of up to
 * four sessions, by far the common case, is one 32-byte slot of a FingerprintTable (fingerprint + session
 * numbers). Only content repeated on one session, or seen by more than four sessions, gets a JS record with
 * counts beside it.
 *
 * Expiry by time slices: records live in one of up to SLICES + 1 tables, each covering windowMs / SLICES of
 * time, newest first. A record seen again is copied to the newest slice (the older copy is marked moved); a
 * slice is dropped whole once its end is windowMs in the past. So a record is forgotten between windowMs
 * and windowMs * (1 + 1 / SLICES) after its last sighting, with no timestamp per record and no scan.
 *
 * Session ids are numbered on first sight; a number is forgotten after SESSION_IDLE_WINDOWS windows without
 * an event from that session (a live redundant session sees the same events as its peers, so the content
 * it counted has expired long before).
 *
 * SHA-256 comes from node:crypto (synchronous, no I/O), the same primitive shared/fingerprint.ts uses.
 */
import * as crypto from "node:crypto";
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import { Utf8Writer, writeCanonicalJson } from "./canonical-bytes.ts";
import { canonicalJson, quoteJson } from "./canonical-json.ts";
import { FingerprintTable, VALUE_WORDS } from "./fingerprint-table.ts";

// crypto.hash (Node >= 20.12) is a one-shot digest, several times faster than createHash for short inputs.
const oneShot = (
  crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }
).hash;

export function sha256Hex(text: string): string {
  return oneShot
    ? oneShot("sha256", text, "hex")
    : crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

/** The identity of an event's content, independent of which session delivered it. */
export function contentText(envelope: NotificationEnvelope): string {
  const correlationId = envelope.metadata?.CorrelationId;
  const cid = correlationId === undefined ? "null" : quoteJson(String(correlationId));
  return `[${quoteJson(String(envelope.topicName))},${canonicalJson(envelope.eventBody)},${cid}`;
}

function keyOf(content: string, ordinal: number): string {
  return sha256Hex(`${content},${ordinal}]`);
}

/** Writes contentText(envelope) as UTF-8 (the same bytes), so the key can be hashed without a string. */
function writeContent(w: Utf8Writer, envelope: NotificationEnvelope): void {
  const correlationId = envelope.metadata?.CorrelationId;
  w.char(0x5b);
  w.quoted(String(envelope.topicName));
  w.char(0x2c);
  writeCanonicalJson(w, envelope.eventBody);
  w.char(0x2c);
  if (correlationId === undefined) w.text("null");
  else w.quoted(String(correlationId));
}

/** keyOf(content, ordinal) for the content written first into `w` (its length `contentBytes`). */
function keyOfWritten(w: Utf8Writer, contentBytes: number, ordinal: number): string {
  w.length = contentBytes;
  w.text(`,${ordinal}]`);
  return oneShot
    ? oneShot("sha256", w.bytes.subarray(0, w.length), "hex")
    : crypto.createHash("sha256").update(w.bytes.subarray(0, w.length)).digest("hex");
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

/** Content some session saw more than once, or more than VALUE_WORDS sessions saw: counts per session. */
interface RepeatedContent {
  sessions: number[];
  counts: number[];
}

interface Slice {
  /** Start of the time this slice covers; it covers [startMs, startMs + sliceMs). */
  startMs: number;
  table: FingerprintTable;
  /** Records whose value word 0 is REPEATED, by content id. */
  repeated: Map<string, RepeatedContent>;
  /** Records copied to a newer slice (their slots here are marked MOVED). */
  moved: number;
}

/** Time slices per window: more means a tighter bound on how long past the window a record lives. */
export const DEDUPE_SLICES = 10;
/** A session number is forgotten after this many windows without an event from that session. */
export const SESSION_IDLE_WINDOWS = 10;
// Value word 0 markers; session numbers stay below them.
const REPEATED = 0xffff_ffff;
const MOVED = 0xffff_fffe;
const MAX_SESSION_NUMBER = 0xffff_fff0;

export interface CrossSessionDeduperOptions {
  /** How long a content record is remembered after its last sighting (at least; at most 1.1x). */
  windowMs: number;
}

export class CrossSessionDeduper {
  readonly windowMs: number;
  readonly #sliceMs: number;
  /** Newest first. */
  #slices: Slice[] = [];
  readonly #sessions = new Map<string, { n: number; lastSeenMs: number }>();
  #nextSession = 1;
  readonly #fp = new Uint32Array(4);
  /** The current event's content, as UTF-8. */
  readonly #content = new Utf8Writer();

  constructor(
    opts: CrossSessionDeduperOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isFinite(opts.windowMs) || opts.windowMs <= 0) {
      throw new RangeError(`windowMs must be a positive number, got ${opts.windowMs}`);
    }
    this.windowMs = opts.windowMs;
    this.#sliceMs = opts.windowMs / DEDUPE_SLICES;
  }

  accept(sessionId: string, envelope: NotificationEnvelope): DedupeDecision {
    const nowMs = this.now();
    const current = this.#advance(nowMs);
    const session = this.#sessionNumber(sessionId, nowMs);
    const w = this.#content;
    w.length = 0;
    writeContent(w, envelope);
    const contentBytes = w.length;
    const contentId = keyOfWritten(w, contentBytes, 1);
    const fp = fingerprintOf(contentId, this.#fp);
    const a = fp[0]!;
    const b = fp[1]!;
    const c = fp[2]!;
    const d = fp[3]!;

    let found: Slice | undefined;
    let slot = -1;
    for (const slice of this.#slices) {
      slot = slice.table.find(a, b, c, d);
      if (slot >= 0) {
        found = slice;
        break;
      }
    }
    if (!found) {
      current.table.insert(a, b, c, d, session);
      return { emit: true, key: contentId, ordinal: 1 };
    }

    let repeated: RepeatedContent | undefined;
    const first = found.table.value(slot, 0);
    if (first === REPEATED) {
      repeated = found.repeated.get(contentId)!;
      if (found !== current) {
        this.#markMoved(found, slot);
        found.repeated.delete(contentId);
        current.table.insert(a, b, c, d, REPEATED);
        current.repeated.set(contentId, repeated);
      }
    } else {
      // Seen once by each session listed in the value words.
      const seen: number[] = [];
      for (let i = 0; i < VALUE_WORDS; i++) {
        const v = found.table.value(slot, i);
        if (v !== 0) seen.push(v);
      }
      if (found !== current) {
        this.#markMoved(found, slot);
        slot = current.table.insert(a, b, c, d, first);
        for (let i = 1; i < seen.length; i++) current.table.setValue(slot, i, seen[i]!);
      }
      const again = seen.includes(session);
      if (!again && seen.length < VALUE_WORDS) {
        current.table.setValue(slot, seen.length, session);
        return { emit: false, key: contentId, ordinal: 1 };
      }
      repeated = {
        sessions: again ? seen : [...seen, session],
        counts: seen.map(() => 1),
      };
      if (!again) repeated.counts.push(0);
      current.table.setValue(slot, 0, REPEATED);
      for (let i = 1; i < VALUE_WORDS; i++) current.table.setValue(slot, i, 0);
      current.repeated.set(contentId, repeated);
    }

    let maxAccepted = 0;
    for (const n of repeated.counts) if (n > maxAccepted) maxAccepted = n;
    let at = repeated.sessions.indexOf(session);
    if (at < 0) {
      at = repeated.sessions.push(session) - 1;
      repeated.counts.push(0);
    }
    const ordinal = repeated.counts[at]! + 1;
    repeated.counts[at] = ordinal;
    return {
      emit: ordinal > maxAccepted,
      key: ordinal === 1 ? contentId : keyOfWritten(w, contentBytes, ordinal),
      ordinal,
    };
  }

  /** Distinct contents currently remembered (the memory bound under test). */
  size(): number {
    let n = 0;
    for (const slice of this.#slices) n += slice.table.used - slice.moved;
    return n;
  }

  /** Bytes held by the record tables (outside the JS heap), for telemetry and tests. */
  tableBytes(): number {
    let n = 0;
    for (const slice of this.#slices) n += slice.table.bytes;
    return n;
  }

  /** Forgets every slice whose records have all gone unseen for at least `windowMs`. */
  evictExpired(nowMs: number = this.now()): void {
    const slices = this.#slices;
    while (slices.length > 0 && slices[slices.length - 1]!.startMs + this.#sliceMs + this.windowMs <= nowMs) {
      slices.pop();
    }
  }

  /** The slice covering `nowMs`, after dropping expired slices (and idle session numbers). */
  #advance(nowMs: number): Slice {
    const newest = this.#slices[0];
    if (newest && nowMs < newest.startMs + this.#sliceMs && nowMs >= newest.startMs) return newest;
    if (newest && nowMs < newest.startMs) return newest; // the clock went back: keep using the newest
    this.evictExpired(nowMs);
    this.#forgetIdleSessions(nowMs);
    // Slices start on multiples of sliceMs from the first one, so their bounds do not drift.
    const origin = newest?.startMs ?? nowMs;
    const startMs = origin + Math.floor((nowMs - origin) / this.#sliceMs) * this.#sliceMs;
    // Sized for as many records as the fullest live slice took, so a burst rarely makes it grow.
    let expected = 0;
    for (const slice of this.#slices) expected = Math.max(expected, slice.table.used);
    const created: Slice = { startMs, table: new FingerprintTable(expected), repeated: new Map(), moved: 0 };
    this.#slices.unshift(created);
    return created;
  }

  #markMoved(slice: Slice, slot: number): void {
    slice.table.setValue(slot, 0, MOVED);
    slice.moved++;
  }

  #sessionNumber(sessionId: string, nowMs: number): number {
    let known = this.#sessions.get(sessionId);
    if (!known) {
      if (this.#nextSession >= MAX_SESSION_NUMBER) throw new RangeError("session numbers exhausted");
      known = { n: this.#nextSession++, lastSeenMs: nowMs };
      this.#sessions.set(sessionId, known);
    }
    known.lastSeenMs = nowMs;
    return known.n;
  }

  #forgetIdleSessions(nowMs: number): void {
    const idleMs = this.windowMs * SESSION_IDLE_WINDOWS;
    for (const [id, known] of this.#sessions) {
      if (nowMs - known.lastSeenMs >= idleMs) this.#sessions.delete(id);
    }
  }
}

/** The first 128 bits of a SHA-256 hex digest as four 32-bit words, written into `out`. */
function fingerprintOf(hex: string, out: Uint32Array): Uint32Array {
  for (let w = 0; w < 4; w++) {
    let v = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) {
      const ch = hex.charCodeAt(i);
      v = v * 16 + (ch <= 57 ? ch - 48 : ch - 87);
    }
    out[w] = v;
  }
  return out;
}
