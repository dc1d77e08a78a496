/**
 * Cross-session de-duplication (DESIGN.md section 4). Pure: no I/O, the clock is passed in.
 *
 * Guarantee. Every session delivers its own stream of upstream events. An arrival of content c (topic +
 * canonical body + CorrelationId) on session S is the copy of an event another session already delivered
 * only if some *occurrence* of c was emitted within the last `lagBoundMs` and S has not accounted for it
 * yet; S then accounts for the oldest such occurrence (occurrence i of S matches occurrence i of its peers,
 * counted over the lag window, not over the lifetime). Otherwise the arrival is a new occurrence and is
 * emitted. So the same upstream event delivered by several sessions within the lag bound is emitted once,
 * and N distinct events with identical content are emitted N times: a session that saw the first of them
 * also sees the others and, having accounted for the first, creates a new occurrence for each.
 *
 * The one ambiguity: a young session (its subscription may not have been in effect when a peer's event was
 * published) can match a repeat of c (event 2) to a peer's occurrence of event 1 that it never received.
 * That is right as long as the peer goes on to deliver event 2 itself (it then creates a new occurrence).
 * Such matches are held as *pending*: confirmed once a peer shows it was still delivering events more than
 * `lagBoundMs` later; released (emitted, marked `possibleDuplicate`) if every peer closed or fell silent
 * first. The supervisor's drain (the old session keeps delivering after its replacement is live) makes
 * releases rare; when the worker cannot tell, it delivers.
 *
 * Silent sessions: when an occurrence ages past `lagBoundMs`, every open session that was certainly
 * subscribed when its event was published (live for longer than `propagationMs + lagBoundMs` before the
 * occurrence) and has not accounted for it *missed* it. `missThreshold` misses in a row report the session
 * as silent (its token revoked, its channel lost while heartbeats go on), so it can be replaced.
 *
 * Memory: one small record per occurrence for `lagBoundMs`, expired in arrival order (a FIFO), so bounded
 * by the event rate times the lag bound. Keys: every emission gets a unique key (content hash prefix +
 * worker instance id + emission sequence), so SQS FIFO's 5-minute de-duplication can never swallow a
 * distinct event; the full content hash is returned for consumers to key on.
 */
import * as crypto from "node:crypto";
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import { Utf8Writer, writeCanonicalJson } from "./canonical-bytes.ts";
import { canonicalJson, quoteJson } from "./canonical-json.ts";

// crypto.hash (Node >= 20.12) is a one-shot digest, several times faster than createHash for short inputs.
const oneShot = (
  crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }
).hash;

export function sha256Hex(text: string): string {
  return oneShot
    ? oneShot("sha256", text, "hex")
    : crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

/** The identity of an event's content, independent of which session delivered it (a JSON array text). */
export function contentText(envelope: NotificationEnvelope): string {
  const correlationId = envelope.metadata?.CorrelationId;
  const cid = correlationId === undefined ? "null" : quoteJson(String(correlationId));
  return `[${quoteJson(String(envelope.topicName))},${canonicalJson(envelope.eventBody)},${cid}]`;
}

/** Content key: SHA-256 hex of contentText (topicName + canonical eventBody + CorrelationId). */
export function contentKey(envelope: NotificationEnvelope): string {
  return sha256Hex(contentText(envelope));
}

/** Writes contentText(envelope) as UTF-8 (the same bytes), so the key is hashed without building a string. */
function writeContent(w: Utf8Writer, envelope: NotificationEnvelope): void {
  const correlationId = envelope.metadata?.CorrelationId;
  w.char(0x5b);
  w.quoted(String(envelope.topicName));
  w.char(0x2c);
  writeCanonicalJson(w, envelope.eventBody);
  w.char(0x2c);
  if (correlationId === undefined) w.text("null");
  else w.quoted(String(correlationId));
  w.char(0x5d);
}

function hashWritten(w: Utf8Writer): string {
  const bytes = w.bytes.subarray(0, w.length);
  return oneShot ? oneShot("sha256", bytes, "hex") : crypto.createHash("sha256").update(bytes).digest("hex");
}

export interface DedupeDecision {
  emit: boolean;
  /** SHA-256 hex of the content: equal for copies and for distinct events with identical content. */
  contentKey: string;
  /** Unique per emission (empty when not emitted): the queue's MessageDeduplicationId. */
  key: string;
}

/** An arrival the deduper held back and now emits because it cannot rule out a distinct event. */
export interface ReleasedArrival {
  sessionId: string;
  envelope: NotificationEnvelope;
  receivedAtMs: number;
  contentKey: string;
  key: string;
  possibleDuplicate: true;
}

export interface DedupeOptions {
  /** Longest delay between two sessions delivering the same upstream event. Default 10000. */
  lagBoundMs?: number;
  /** Longest time a confirmed subscription may take to deliver (subscription propagation). Default 5000. */
  propagationMs?: number;
  /** Consecutive missed occurrences after which a session is reported silent. Default 3. */
  missThreshold?: number;
  /** Longest a pending match waits for evidence from its peers before it is released. Default 10x lag. */
  maxPendingMs?: number;
  /** Distinguishes this worker's emission keys from any other process's (restarts, deployment overlap). */
  instanceId: string;
}

interface SessionState {
  readonly id: string;
  liveAtMs: number | undefined;
  open: boolean;
  closedAtMs: number;
  closedOrderly: boolean;
  lastEventAtMs: number;
  misses: number;
  reportedSilent: boolean;
  /** The occurrence this session accounted for last. */
  cursor: Occurrence | undefined;
  /** Its held (ambiguous) matches not yet settled. */
  pendings: Pending[];
}

interface Occurrence {
  readonly contentKey: string;
  readonly topic: string;
  /** Creation order (arrival order across all sessions). */
  readonly seq: number;
  readonly atMs: number;
  /** Sessions that delivered (or accounted for) this occurrence. */
  readonly seen: SessionState[];
  /** The next occurrence of the same content (arrival order). */
  next: Occurrence | undefined;
  /** The newest occurrence of the same content (kept up to date on the oldest one only). */
  tail: Occurrence;
  expired: boolean;
}

interface Pending {
  session: SessionState;
  peers: SessionState[];
  /** The held occurrence's topic, first deliverer and first arrival. */
  topic: string;
  first: SessionState;
  firstSeq: number;
  /** The held occurrence, and whether an earlier occurrence of the same content was remembered then. */
  occurrence: Occurrence;
  hadEarlier: boolean;
  /** Occurrences created up to the held arrival have seq <= this. */
  sinceSeq: number;
  settled: boolean;
  sinceMs: number;
  envelope: NotificationEnvelope;
  receivedAtMs: number;
  contentKey: string;
}

export class EventDeduper {
  readonly lagBoundMs: number;
  readonly propagationMs: number;
  readonly #missThreshold: number;
  readonly #maxPendingMs: number;
  readonly #keyPrefix: string;
  #sequence = 0;
  readonly #sessions = new Map<string, SessionState>();
  /** The open sessions that went live (the ones that can miss an occurrence). */
  #watched: SessionState[] = [];
  /** First (oldest) occurrence of each content. */
  readonly #byContent = new Map<string, Occurrence>();
  /** Every occurrence in arrival order, from #head on. */
  #fifo: Occurrence[] = [];
  #head = 0;
  #pending: Pending[] = [];
  readonly #silent: string[] = [];
  readonly #content = new Utf8Writer();
  #closing = false;
  #occurrences = 0;
  #maxPendingOverride: number | undefined;

  constructor(opts: DedupeOptions) {
    this.lagBoundMs = positive("lagBoundMs", opts.lagBoundMs ?? 10_000);
    this.propagationMs = nonNegative("propagationMs", opts.propagationMs ?? 5_000);
    this.#missThreshold = Math.max(1, Math.floor(opts.missThreshold ?? 3));
    this.#maxPendingMs = positive("maxPendingMs", opts.maxPendingMs ?? this.lagBoundMs * 10);
    if (!/^[\x21-\x7e]{1,40}$/.test(opts.instanceId)) {
      throw new RangeError("instanceId must be 1-40 printable ASCII characters without spaces");
    }
    this.#keyPrefix = `-${opts.instanceId}-`;
  }

  /** The session's socket(s) are open and subscribed from `atMs` on. */
  sessionLive(id: string, atMs: number): void {
    const s = this.#session(id, atMs);
    if (s.liveAtMs === undefined && s.open) {
      s.liveAtMs = atMs;
      this.#watched.push(s);
    }
  }

  /**
   * The session delivers nothing more: the pending matches that relied on it are re-judged. `orderly`:
   * the worker closed it while it was working (end of its drain, shutdown), not after a failure.
   */
  sessionClosed(id: string, atMs: number, orderly = false): ReleasedArrival[] {
    const s = this.#sessions.get(id);
    if (s?.open) {
      s.open = false;
      s.closedAtMs = atMs;
      s.closedOrderly = orderly;
      this.#watched = this.#watched.filter((w) => w !== s);
    }
    return this.#resolvePending(atMs);
  }

  accept(sessionId: string, envelope: NotificationEnvelope, nowMs: number): DedupeDecision {
    this.#expire(nowMs);
    const session = this.#session(sessionId, nowMs);
    session.lastEventAtMs = nowMs;
    const w = this.#content;
    w.length = 0;
    writeContent(w, envelope);
    const key = hashWritten(w);

    const head = this.#byContent.get(key);
    if (head !== undefined && !head.tail.seen.includes(session)) {
      // A session accounts for occurrences oldest first, so what it has accounted for is a prefix of the
      // list: resume after the last one it matched (runs of identical content stay O(1) per arrival).
      const cursor = session.cursor;
      let o: Occurrence | undefined =
        cursor !== undefined && cursor.contentKey === key && !cursor.expired ? cursor.next : head;
      for (; o !== undefined; o = o.next) {
        if (o.seen.includes(session)) continue;
        const first = o.seen[0]!;
        if (session.pendings.length > 0 || first.pendings.length > 0) this.#settleByOrder(session, o);
        if (this.#ambiguous(session, o)) {
          const pending: Pending = {
            session,
            peers: o.seen.slice(),
            topic: o.topic,
            first,
            firstSeq: o.seq,
            occurrence: o,
            hadEarlier: o !== head,
            sinceSeq: this.#occurrences,
            settled: false,
            sinceMs: nowMs,
            envelope,
            receivedAtMs: nowMs,
            contentKey: key,
          };
          this.#pending.push(pending);
          session.pendings.push(pending);
        }
        o.seen.push(session);
        session.cursor = o;
        return { emit: false, contentKey: key, key: "" };
      }
    }
    const created: Occurrence = {
      contentKey: key,
      topic: String(envelope.topicName),
      seq: ++this.#occurrences,
      atMs: nowMs,
      seen: [session],
      next: undefined,
      tail: undefined as unknown as Occurrence,
      expired: false,
    };
    created.tail = created;
    if (head) {
      head.tail.next = created;
      head.tail = created;
    } else {
      this.#byContent.set(key, created);
    }
    session.cursor = created;
    this.#fifo.push(created);
    return { emit: true, contentKey: key, key: this.#emissionKey(key) };
  }

  /**
   * Time passes: ages occurrences (counting misses) and re-judges pending matches. Call about every
   * lagBoundMs / 4. Returns the arrivals to emit now and the sessions newly found silent.
   */
  tick(nowMs: number): { released: ReleasedArrival[]; silent: string[] } {
    return this.#tick(nowMs);
  }

  /**
   * Shutdown: every pending match is settled now (the open sessions end in order at `nowMs`); what cannot
   * be confirmed is released.
   */
  close(nowMs: number): ReleasedArrival[] {
    this.#closing = true;
    this.#maxPendingOverride = 0;
    return this.#tick(nowMs).released;
  }

  #tick(nowMs: number): { released: ReleasedArrival[]; silent: string[] } {
    this.#expire(nowMs);
    const released = this.#resolvePending(nowMs);
    const silent = this.#silent.splice(0);
    this.#forgetClosedSessions(nowMs);
    return { released, silent };
  }

  /** Occurrences currently remembered (the memory bound under test). */
  size(): number {
    return this.#fifo.length - this.#head;
  }

  pendingCount(): number {
    return this.#pending.length;
  }

  /** When the session last delivered an event (its evidence of coverage), if known. */
  lastEventAtMs(id: string): number | undefined {
    return this.#sessions.get(id)?.lastEventAtMs;
  }

  #emissionKey(content: string): string {
    this.#sequence++;
    return `${content.slice(0, 32)}${this.#keyPrefix}${this.#sequence.toString(36)}`;
  }

  /** Could the event behind `o` have been published before `s`'s subscription took effect? */
  #ambiguous(s: SessionState, o: Occurrence): boolean {
    return s.liveAtMs === undefined || o.atMs - this.lagBoundMs < s.liveAtMs + this.propagationMs;
  }

  #session(id: string, nowMs: number): SessionState {
    let s = this.#sessions.get(id);
    if (!s) {
      s = {
        id,
        liveAtMs: undefined,
        open: true,
        closedAtMs: Number.NaN,
        closedOrderly: false,
        lastEventAtMs: nowMs,
        misses: 0,
        reportedSilent: false,
        cursor: undefined,
        pendings: [],
      };
      this.#sessions.set(id, s);
    }
    return s;
  }

  #expire(nowMs: number): void {
    const fifo = this.#fifo;
    const horizon = nowMs - this.lagBoundMs;
    let head = this.#head;
    while (head < fifo.length && fifo[head]!.atMs <= horizon) {
      const o = fifo[head]!;
      fifo[head] = undefined as unknown as Occurrence;
      head++;
      o.expired = true;
      if (o.next) {
        o.next.tail = o.tail;
        this.#byContent.set(o.contentKey, o.next);
      } else {
        this.#byContent.delete(o.contentKey);
      }
      this.#countMisses(o);
    }
    if (head > 1024 && head * 2 > fifo.length) {
      this.#fifo = fifo.slice(head);
      head = 0;
    }
    this.#head = head;
  }

  #countMisses(o: Occurrence): void {
    const watched = this.#watched;
    for (let i = 0; i < watched.length; i++) {
      const s = watched[i]!;
      if (o.seen.includes(s)) {
        s.misses = 0;
        continue;
      }
      // Only a session certainly subscribed when the event was published can have missed it.
      if (s.liveAtMs! + this.propagationMs > o.atMs - this.lagBoundMs) continue;
      s.misses++;
      if (s.misses >= this.#missThreshold && !s.reportedSilent) {
        s.reportedSilent = true;
        this.#silent.push(s.id);
      }
    }
  }

  /**
   * Settles held matches from delivery order (each channel delivers a topic's events in publish order).
   * A held match of session S to occurrence o, first delivered by P, is a true copy once S accounts for a
   * later event of the topic that P delivered after o (or P accounts for one S delivered after its held
   * arrival): had S's arrival been a distinct repeat of o, it would have been published between o and
   * that event, and P, subscribed and in order, would have delivered it as a new occurrence already.
   * `s` is now accounting for `o`, which `o.seen[0]` delivered first.
   */
  #settleByOrder(s: SessionState, o: Occurrence): void {
    const first = o.seen[0]!;
    for (const p of s.pendings) {
      if (!p.settled && p.topic === o.topic && p.first === first && o.seq > p.firstSeq) p.settled = true;
    }
    for (const p of first.pendings) {
      if (!p.settled && p.topic === o.topic && p.first === s && o.seq > p.sinceSeq) p.settled = true;
    }
    s.pendings = s.pendings.filter((p) => !p.settled);
    if (first !== s) first.pendings = first.pendings.filter((p) => !p.settled);
  }

  #resolvePending(nowMs: number): ReleasedArrival[] {
    if (this.#pending.length === 0) return [];
    const released: ReleasedArrival[] = [];
    const kept: Pending[] = [];
    for (const p of this.#pending) {
      if (p.settled) continue;
      if (p.peers.some((peer) => this.#vouches(peer, p.sinceMs))) {
        this.#unhold(p);
        continue;
      }
      const peerAlive = p.peers.some((peer) => peer.open && !peer.reportedSilent);
      if (peerAlive && nowMs - p.sinceMs < (this.#maxPendingOverride ?? this.#maxPendingMs)) {
        kept.push(p);
        continue;
      }
      this.#unhold(p);
      // Content that occurred only once within the lag bound cannot be two distinct events unless the
      // unseen twin was the only one of its kind: treat it as the copy it almost surely is (README states
      // this residual case); content that repeats is delivered, marked.
      if (!p.hadEarlier && p.occurrence.next === undefined) continue;
      released.push({
        sessionId: p.session.id,
        envelope: p.envelope,
        receivedAtMs: p.receivedAtMs,
        contentKey: p.contentKey,
        key: this.#emissionKey(p.contentKey),
        possibleDuplicate: true,
      });
    }
    this.#pending = kept;
    return released;
  }

  #unhold(p: Pending): void {
    p.settled = true;
    p.session.pendings = p.session.pendings.filter((q) => q !== p);
  }

  /**
   * Did `peer` show it kept delivering long enough that it would have delivered a repeat arriving at
   * `sinceMs` (so a held match relying on it is a true copy)? Either it delivered events more than the lag
   * bound later, or it ended in order (end of its drain past the lag bound, or worker shutdown) and had
   * been delivering around `sinceMs` (a quiet stream gives no later events to show).
   */
  #vouches(peer: SessionState, sinceMs: number): boolean {
    if (peer.lastEventAtMs > sinceMs + this.lagBoundMs) return true;
    if (peer.reportedSilent || peer.lastEventAtMs < sinceMs - this.lagBoundMs) return false;
    // At shutdown an open peer that was delivering ends in order now: what it would still have delivered
    // is in flight at shutdown like any other event (the next task's sessions cover from their start).
    if (peer.open) return this.#closing;
    return peer.closedOrderly && peer.closedAtMs > sinceMs + this.lagBoundMs;
  }

  /**
   * A closed session's id is forgotten once no occurrence or pending match can refer to it (the objects
   * themselves stay reachable from those until they go). An arrival from a forgotten id starts afresh.
   */
  #forgetClosedSessions(nowMs: number): void {
    const after = this.lagBoundMs + this.#maxPendingMs;
    for (const [id, s] of this.#sessions)
      if (!s.open && nowMs - s.closedAtMs > after) this.#sessions.delete(id);
  }
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${v}`);
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number, got ${v}`);
  return v;
}
