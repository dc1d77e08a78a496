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
 * Such matches are held as *pending* (pending-matches.ts): confirmed once a peer shows it was still delivering events more than
 * `lagBoundMs` later; released (emitted, marked `possibleDuplicate`) if every peer closed or fell silent
 * first. The supervisor's drain (the old session keeps delivering after its replacement is live) makes
 * releases rare; when the worker cannot tell, it delivers.
 *
 * Silent sessions: when an occurrence ages past `lagBoundMs`, every open session that was certainly
 * subscribed when its event was published (live for longer than `propagationMs + lagBoundMs` before the
 * occurrence) and has not accounted for it *missed* it. `missThreshold` misses in a row report the session
 * as silent (its token revoked, its channel lost while heartbeats go on), so it can be replaced.
 *
 * Memory: one 52-byte record per occurrence for `lagBoundMs`, off the collected heap (occurrence-ring.ts,
 * content-index.ts), expired in arrival order, so bounded by the event rate times the lag bound. Keys: every emission gets a unique key (content hash prefix +
 * worker instance id + emission sequence), so SQS FIFO's 5-minute de-duplication can never swallow a
 * distinct event; the full content hash is returned for consumers to key on.
 */
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import { ContentHasher } from "./content-identity.ts";
import { ContentIndex, fingerprintWords } from "./content-index.ts";
import { newSession, type SessionState } from "./dedupe-session.ts";
import { MAX_SESSIONS, OccurrenceRing } from "./occurrence-ring.ts";
import { PendingMatches } from "./pending-matches.ts";

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

/** Interned topics are dropped when this many have been seen and nothing refers to them. */
const MAX_INTERNED_TOPICS = 100_000;
/** How often the occurrence memory is fitted to the peak of the last period (after bursts). */
const SHRINK_EVERY_MS = 60_000;

export class EventDeduper {
  readonly lagBoundMs: number;
  readonly propagationMs: number;
  readonly #missThreshold: number;
  readonly #maxPendingMs: number;
  readonly #keyPrefix: string;
  #sequence = 0;
  readonly #sessions = new Map<string, SessionState>();
  /** Session by number (see SessionState.num). */
  readonly #numbered: Array<SessionState | undefined> = new Array(MAX_SESSIONS).fill(undefined);
  /** The open sessions that went live (the ones that can miss an occurrence). */
  #watched: SessionState[] = [];
  readonly #ring = new OccurrenceRing();
  /** Content fingerprint -> its oldest live occurrence. */
  readonly #index = new ContentIndex();
  readonly #hasher = new ContentHasher();
  readonly #fp = new Uint32Array(4);
  readonly #topics = new Map<string, number>();
  readonly #pending: PendingMatches;
  readonly #silent: string[] = [];
  #shrunkAtMs = Number.NEGATIVE_INFINITY;

  constructor(opts: DedupeOptions) {
    this.lagBoundMs = positive("lagBoundMs", opts.lagBoundMs ?? 10_000);
    this.propagationMs = nonNegative("propagationMs", opts.propagationMs ?? 5_000);
    this.#missThreshold = Math.max(1, Math.floor(opts.missThreshold ?? 3));
    this.#maxPendingMs = positive("maxPendingMs", opts.maxPendingMs ?? this.lagBoundMs * 10);
    if (!/^[\x21-\x7e]{1,40}$/.test(opts.instanceId)) {
      throw new RangeError("instanceId must be 1-40 printable ASCII characters without spaces");
    }
    this.#keyPrefix = `-${opts.instanceId}-`;
    const emissionKey = (content: string) => this.#emissionKey(content);
    this.#pending = new PendingMatches(
      this.#ring,
      this.#numbered,
      this.lagBoundMs,
      this.#maxPendingMs,
      emissionKey,
    );
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
    return this.#pending.resolve(atMs);
  }

  accept(sessionId: string, envelope: NotificationEnvelope, nowMs: number): DedupeDecision {
    this.#expire(nowMs);
    const session = this.#session(sessionId, nowMs);
    session.lastEventAtMs = nowMs;
    const num = this.#numberOf(session);
    const key = this.#hasher.key(envelope);
    const fp = fingerprintWords(key, this.#fp);
    const ring = this.#ring;
    const head = this.#index.get(fp[0]!, fp[1]!, fp[2]!, fp[3]!);
    if (head !== 0 && !ring.seenBy(ring.tail(head), num)) {
      // A session accounts for occurrences oldest first, so what it has accounted for is a prefix of the
      // list: resume after the last one it matched (runs of identical content stay O(1) per arrival).
      const cursor = session.cursor;
      let o = cursor !== 0 && ring.isLive(cursor) && ring.sameContent(cursor, fp) ? ring.next(cursor) : head;
      for (; o !== 0; o = ring.next(o)) {
        if (ring.seenBy(o, num)) continue;
        const first = this.#numbered[ring.first(o)]!;
        if (session.pendings.length > 0 || first.pendings.length > 0) {
          this.#pending.settleByOrder(session, o, first);
        }
        if (this.#ambiguous(session, o)) this.#pending.hold(session, o, first, head, envelope, key, nowMs);
        ring.markSeen(o, num);
        session.cursor = o;
        return { emit: false, contentKey: key, key: "" };
      }
    }
    const created = ring.push(fp, this.#topicId(envelope.topicName), nowMs, num);
    if (head !== 0) {
      ring.setNext(ring.tail(head), created);
      ring.setTail(head, created);
    } else {
      this.#index.add(fp[0]!, fp[1]!, fp[2]!, fp[3]!, created);
    }
    if (this.#pending.size > 0) this.#pending.noteLater(key);
    session.cursor = created;
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
    this.#pending.shutDown();
    return this.#tick(nowMs).released;
  }

  #tick(nowMs: number): { released: ReleasedArrival[]; silent: string[] } {
    this.#expire(nowMs);
    const released = this.#pending.resolve(nowMs);
    const silent = this.#silent.splice(0);
    this.#forgetClosedSessions(nowMs);
    if (nowMs - this.#shrunkAtMs >= SHRINK_EVERY_MS) {
      this.#shrunkAtMs = nowMs;
      this.#ring.shrinkIfSparse();
      this.#index.shrinkIfSparse();
    }
    if (this.#topics.size > MAX_INTERNED_TOPICS && this.#ring.size === 0 && this.#pending.size === 0) {
      this.#topics.clear();
    }
    return { released, silent };
  }

  /** Occurrences currently remembered (the memory bound under test). */
  size(): number {
    return this.#ring.size;
  }

  pendingCount(): number {
    return this.#pending.size;
  }

  /** When the session last delivered an event (its evidence of coverage), if known. */
  lastEventAtMs(id: string): number | undefined {
    return this.#sessions.get(id)?.lastEventAtMs;
  }

  #emissionKey(content: string): string {
    this.#sequence++;
    return `${content.slice(0, 32)}${this.#keyPrefix}${this.#sequence.toString(36)}`;
  }

  /** Could the event behind occurrence `o` have been published before `s`'s subscription took effect? */
  #ambiguous(s: SessionState, o: number): boolean {
    return s.liveAtMs === undefined || this.#ring.atMs(o) - this.lagBoundMs < s.liveAtMs + this.propagationMs;
  }

  #session(id: string, nowMs: number): SessionState {
    let s = this.#sessions.get(id);
    if (!s) {
      s = newSession(id, nowMs);
      this.#sessions.set(id, s);
      this.#numberOf(s);
    }
    return s;
  }

  /**
   * The session's number in the seen sets, given on first need. Numbers of closed sessions come back once
   * every occurrence they could be in has expired; should all be taken, the closed session heard from
   * longest ago gives its number up early (it is cleared from the occurrences it was in).
   */
  #numberOf(s: SessionState): number {
    if (s.num >= 0) return s.num;
    let free = this.#numbered.indexOf(undefined);
    if (free < 0) {
      let oldest: SessionState | undefined;
      for (const t of this.#numbered) {
        if (t && !t.open && (!oldest || t.lastEventAtMs < oldest.lastEventAtMs)) oldest = t;
      }
      if (!oldest) throw new RangeError(`more than ${MAX_SESSIONS} sessions open at once`);
      this.#ring.forgetSession(oldest.num);
      free = this.#release(oldest);
    }
    s.num = free;
    this.#numbered[free] = s;
    return free;
  }

  #release(s: SessionState): number {
    const n = s.num;
    this.#numbered[n] = undefined;
    s.num = -1;
    s.cursor = 0;
    return n;
  }

  #topicId(topicName: unknown): number {
    const topic = String(topicName);
    let id = this.#topics.get(topic);
    if (id === undefined) {
      id = this.#topics.size;
      this.#topics.set(topic, id);
    }
    return id;
  }

  #expire(nowMs: number): void {
    const ring = this.#ring;
    const horizon = nowMs - this.lagBoundMs;
    const fp = this.#fp;
    while (ring.size > 0) {
      // The oldest live occurrence is the oldest of its content, so it heads its content's list.
      const o = ring.headSeq;
      if (ring.atMs(o) > horizon) break;
      ring.fingerprint(o, fp);
      const next = ring.next(o);
      if (next !== 0) {
        ring.setTail(next, ring.tail(o));
        this.#index.set(fp[0]!, fp[1]!, fp[2]!, fp[3]!, next);
      } else {
        this.#index.delete(fp[0]!, fp[1]!, fp[2]!, fp[3]!);
      }
      this.#countMisses(o);
      ring.shift();
    }
  }

  #countMisses(o: number): void {
    const ring = this.#ring;
    const watched = this.#watched;
    for (let i = 0; i < watched.length; i++) {
      const s = watched[i]!;
      if (ring.seenBy(o, s.num)) {
        s.misses = 0;
        continue;
      }
      // Only a session certainly subscribed when the event was published can have missed it.
      if (s.liveAtMs! + this.propagationMs > ring.atMs(o) - this.lagBoundMs) continue;
      s.misses++;
      if (s.misses >= this.#missThreshold && !s.reportedSilent) {
        s.reportedSilent = true;
        this.#silent.push(s.id);
      }
    }
  }

  /**
   * A closed session's id is forgotten once no occurrence or pending match can refer to it (the objects
   * themselves stay reachable from those until they go). An arrival from a forgotten id starts afresh.
   */
  #forgetClosedSessions(nowMs: number): void {
    const after = this.lagBoundMs + this.#maxPendingMs;
    for (const [id, s] of this.#sessions) {
      if (s.open) continue;
      // Every occurrence it was in has expired (#expire ran for nowMs): its number can be given again.
      if (s.num >= 0 && nowMs - Math.max(s.closedAtMs, s.lastEventAtMs) > this.lagBoundMs) this.#release(s);
      if (nowMs - s.closedAtMs > after) this.#sessions.delete(id);
    }
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
