/**
 * The de-duplicator's held matches (dedupe.ts, "The one ambiguity"): arrivals matched to a peer's
 * occurrence of their content whose event may have been published before the session's subscription took
 * effect. Each is held until delivery order or a peer's later deliveries confirm it as a copy, or released
 * (emitted, marked `possibleDuplicate`) if every peer closed or fell silent first or it waited
 * `maxPendingMs`. Pure: no I/O, the clock is passed in.
 */
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import type { ReleasedArrival } from "./dedupe.ts";
import type { SessionState } from "./dedupe-session.ts";
import type { OccurrenceRing } from "./occurrence-ring.ts";

export interface Pending {
  session: SessionState;
  peers: SessionState[];
  /** The held occurrence's topic id, first deliverer and sequence number. */
  topic: number;
  first: SessionState;
  firstSeq: number;
  /** Whether an occurrence of the same content was remembered before the held one, or created after it. */
  hadEarlier: boolean;
  hadLater: boolean;
  /** Occurrences created up to the held arrival have seq <= this. */
  sinceSeq: number;
  settled: boolean;
  sinceMs: number;
  envelope: NotificationEnvelope;
  receivedAtMs: number;
  contentKey: string;
}

export class PendingMatches {
  readonly #ring: OccurrenceRing;
  /** The deduper's sessions by number (see SessionState.num). */
  readonly #numbered: ReadonlyArray<SessionState | undefined>;
  readonly #lagBoundMs: number;
  readonly #maxPendingMs: number;
  /** The deduper's emission key for a released arrival (unique per emission). */
  readonly #emissionKey: (contentKey: string) => string;
  #pending: Pending[] = [];
  /** The pending matches by content key (to note a later occurrence of their content). */
  #pendingByContent = new Map<string, Pending[]>();
  #closing = false;
  #maxPendingOverride: number | undefined;

  constructor(
    ring: OccurrenceRing,
    numbered: ReadonlyArray<SessionState | undefined>,
    lagBoundMs: number,
    maxPendingMs: number,
    emissionKey: (contentKey: string) => string,
  ) {
    this.#ring = ring;
    this.#numbered = numbered;
    this.#lagBoundMs = lagBoundMs;
    this.#maxPendingMs = maxPendingMs;
    this.#emissionKey = emissionKey;
  }

  /** Held matches not yet resolved. */
  get size(): number {
    return this.#pending.length;
  }

  /** Shutdown: from now on a held match is settled at once (open peers end in order), confirmed or released. */
  shutDown(): void {
    this.#closing = true;
    this.#maxPendingOverride = 0;
  }

  /** `session` matched occurrence `o` (first delivered by `first`, its content's oldest live one `head`). */
  hold(
    session: SessionState,
    o: number,
    first: SessionState,
    head: number,
    envelope: NotificationEnvelope,
    key: string,
    nowMs: number,
  ): void {
    const ring = this.#ring;
    const pending: Pending = {
      session,
      peers: ring.seenList(o).map((n) => this.#numbered[n]!),
      topic: ring.topic(o),
      first,
      firstSeq: o,
      hadEarlier: o !== head,
      hadLater: ring.next(o) !== 0,
      sinceSeq: ring.nextSeq - 1,
      settled: false,
      sinceMs: nowMs,
      envelope,
      receivedAtMs: nowMs,
      contentKey: key,
    };
    this.#pending.push(pending);
    session.pendings.push(pending);
    const same = this.#pendingByContent.get(key);
    if (same) same.push(pending);
    else this.#pendingByContent.set(key, [pending]);
  }

  /** A new occurrence of `key` was created: held matches of a still-remembered one of it had a later one. */
  noteLater(key: string): void {
    const same = this.#pendingByContent.get(key);
    if (!same) return;
    for (const p of same) if (this.#ring.isLive(p.firstSeq)) p.hadLater = true;
  }

  /**
   * Settles held matches from delivery order (each channel delivers a topic's events in publish order).
   * A held match of session S to occurrence o, first delivered by P, is a true copy once S accounts for a
   * later event of the topic that P delivered after o (or P accounts for one S delivered after its held
   * arrival): had S's arrival been a distinct repeat of o, it would have been published between o and
   * that event, and P, subscribed and in order, would have delivered it as a new occurrence already.
   * `s` is now accounting for occurrence `o`, which `first` delivered first.
   */
  settleByOrder(s: SessionState, o: number, first: SessionState): void {
    const topic = this.#ring.topic(o);
    for (const p of s.pendings) {
      if (!p.settled && p.topic === topic && p.first === first && o > p.firstSeq) p.settled = true;
    }
    for (const p of first.pendings) {
      if (!p.settled && p.topic === topic && p.first === s && o > p.sinceSeq) p.settled = true;
    }
    s.pendings = s.pendings.filter((p) => !p.settled);
    if (first !== s) first.pendings = first.pendings.filter((p) => !p.settled);
  }

  /** Re-judges the held matches at `nowMs`: returns the arrivals to emit now. */
  resolve(nowMs: number): ReleasedArrival[] {
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
      if (!p.hadEarlier && !p.hadLater) continue;
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
    this.#pendingByContent = new Map();
    for (const p of kept) {
      const same = this.#pendingByContent.get(p.contentKey);
      if (same) same.push(p);
      else this.#pendingByContent.set(p.contentKey, [p]);
    }
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
    if (peer.lastEventAtMs > sinceMs + this.#lagBoundMs) return true;
    if (peer.reportedSilent || peer.lastEventAtMs < sinceMs - this.#lagBoundMs) return false;
    // At shutdown an open peer that was delivering ends in order now: what it would still have delivered
    // is in flight at shutdown like any other event (the next task's sessions cover from their start).
    if (peer.open) return this.#closing;
    return peer.closedOrderly && peer.closedAtMs > sinceMs + this.#lagBoundMs;
  }
}
