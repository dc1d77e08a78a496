/**
 * The de-duplicator's occurrences (dedupe.ts) in arrival order, as columns of typed arrays in a ring.
 *
 * An occurrence is addressed by its sequence number (1, 2, ... in creation order). It is kept for the lag
 * bound and expires oldest first, so the live ones are always the contiguous range [headSeq, nextSeq). As
 * JS objects, a million live occurrences (100k events/s over 10 s) cost ~250 bytes each on the collected
 * heap, and every one survives long enough to be copied by the young-generation collector; here one costs
 * 52 bytes, never traced. The ring doubles when full and halves again when mostly empty.
 *
 * Per occurrence: content fingerprint (4 words), topic id, arrival time, the session that created it, the
 * sessions that delivered or accounted for it (a 64-bit set of session numbers), the next occurrence of the
 * same content and (kept on the oldest live one of a content only) the newest.
 */

const MIN_CAPACITY = 1024;
/** Session numbers 0..MAX_SESSIONS-1 fit the `seen` bit set (two 32-bit words). */
export const MAX_SESSIONS = 64;

export class OccurrenceRing {
  #capacity = MIN_CAPACITY;
  #mask = MIN_CAPACITY - 1;
  /** Ring position of headSeq. */
  #headPos = 0;
  #headSeq = 1;
  #nextSeq = 1;
  #fp = new Uint32Array(MIN_CAPACITY * 4);
  #topic = new Int32Array(MIN_CAPACITY);
  #atMs = new Float64Array(MIN_CAPACITY);
  #first = new Uint8Array(MIN_CAPACITY);
  #seen = new Uint32Array(MIN_CAPACITY * 2);
  #next = new Float64Array(MIN_CAPACITY);
  #tail = new Float64Array(MIN_CAPACITY);
  /** Most occurrences held since the last shrinkIfSparse. */
  #peak = 0;

  /** Oldest live occurrence (== nextSeq when none is live). */
  get headSeq(): number {
    return this.#headSeq;
  }

  /** The sequence number the next occurrence gets. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Occurrences it has room for before it grows. */
  get capacity(): number {
    return this.#capacity;
  }

  get size(): number {
    return this.#nextSeq - this.#headSeq;
  }

  isLive(seq: number): boolean {
    return seq >= this.#headSeq && seq < this.#nextSeq;
  }

  /** Appends an occurrence seen by session `session`; returns its sequence number. */
  push(fp: Uint32Array, topic: number, atMs: number, session: number): number {
    if (this.size === this.#capacity) this.#grow();
    const seq = this.#nextSeq++;
    if (seq - this.#headSeq >= this.#peak) this.#peak = seq - this.#headSeq + 1;
    const i = this.#pos(seq);
    this.#fp[i * 4] = fp[0]!;
    this.#fp[i * 4 + 1] = fp[1]!;
    this.#fp[i * 4 + 2] = fp[2]!;
    this.#fp[i * 4 + 3] = fp[3]!;
    this.#topic[i] = topic;
    this.#atMs[i] = atMs;
    this.#first[i] = session;
    this.#seen[i * 2] = 0;
    this.#seen[i * 2 + 1] = 0;
    this.#next[i] = 0;
    this.#tail[i] = seq;
    this.markSeen(seq, session);
    return seq;
  }

  /** Drops the oldest live occurrence (the caller has read what it needs of it). */
  shift(): void {
    if (this.size === 0) return;
    this.#headSeq++;
    this.#headPos = (this.#headPos + 1) & this.#mask;
  }

  sameContent(seq: number, fp: Uint32Array): boolean {
    const b = this.#pos(seq) * 4;
    const w = this.#fp;
    return w[b] === fp[0] && w[b + 1] === fp[1] && w[b + 2] === fp[2] && w[b + 3] === fp[3];
  }

  /** Copies the occurrence's fingerprint into `out`. */
  fingerprint(seq: number, out: Uint32Array): Uint32Array {
    const b = this.#pos(seq) * 4;
    for (let w = 0; w < 4; w++) out[w] = this.#fp[b + w]!;
    return out;
  }

  topic(seq: number): number {
    return this.#topic[this.#pos(seq)]!;
  }

  atMs(seq: number): number {
    return this.#atMs[this.#pos(seq)]!;
  }

  /** The session that created it (the first to deliver it). */
  first(seq: number): number {
    return this.#first[this.#pos(seq)]!;
  }

  seenBy(seq: number, session: number): boolean {
    return (this.#seen[this.#pos(seq) * 2 + (session >> 5)]! & (1 << (session & 31))) !== 0;
  }

  markSeen(seq: number, session: number): void {
    this.#seen[this.#pos(seq) * 2 + (session >> 5)]! |= 1 << (session & 31);
  }

  /** Session numbers that delivered or accounted for it, lowest first. */
  seenList(seq: number): number[] {
    const out: number[] = [];
    const i = this.#pos(seq) * 2;
    for (let s = 0; s < MAX_SESSIONS; s++)
      if ((this.#seen[i + (s >> 5)]! & (1 << (s & 31))) !== 0) out.push(s);
    return out;
  }

  /** Removes `session` from every live occurrence's seen set (its number is about to be reused). */
  forgetSession(session: number): void {
    const bit = ~(1 << (session & 31));
    const word = session >> 5;
    for (let seq = this.#headSeq; seq < this.#nextSeq; seq++) this.#seen[this.#pos(seq) * 2 + word]! &= bit;
  }

  /** The next occurrence of the same content, 0 if none. */
  next(seq: number): number {
    return this.#next[this.#pos(seq)]!;
  }

  setNext(seq: number, next: number): void {
    this.#next[this.#pos(seq)] = next;
  }

  /** The newest occurrence of the same content; meaningful on the oldest live one of a content only. */
  tail(seq: number): number {
    return this.#tail[this.#pos(seq)]!;
  }

  setTail(seq: number, tail: number): void {
    this.#tail[this.#pos(seq)] = tail;
  }

  /**
   * Gives memory back after a burst: halves the ring while at most an eighth of it was in use at any time
   * since the last call (call it rarely, so a bursty load does not make it shrink and grow between bursts).
   */
  shrinkIfSparse(): void {
    let capacity = this.#capacity;
    while (capacity > MIN_CAPACITY && this.#peak * 8 <= capacity) capacity /= 2;
    if (capacity < this.#capacity) this.#resize(capacity);
    this.#peak = this.size;
  }

  #pos(seq: number): number {
    return (this.#headPos + (seq - this.#headSeq)) & this.#mask;
  }

  #grow(): void {
    this.#resize(this.#capacity * 2);
  }

  #resize(capacity: number): void {
    const size = this.size;
    const head = this.#headPos;
    // The live range wraps the ring at most once: two block copies per column, oldest first to 0.
    const beforeWrap = Math.min(size, this.#capacity - head);
    const move = <T extends Uint32Array | Int32Array | Float64Array | Uint8Array>(
      from: T,
      to: T,
      width: number,
    ): T => {
      to.set(from.subarray(head * width, (head + beforeWrap) * width), 0);
      if (size > beforeWrap) to.set(from.subarray(0, (size - beforeWrap) * width), beforeWrap * width);
      return to;
    };
    this.#fp = move(this.#fp, new Uint32Array(capacity * 4), 4);
    this.#topic = move(this.#topic, new Int32Array(capacity), 1);
    this.#atMs = move(this.#atMs, new Float64Array(capacity), 1);
    this.#first = move(this.#first, new Uint8Array(capacity), 1);
    this.#seen = move(this.#seen, new Uint32Array(capacity * 2), 2);
    this.#next = move(this.#next, new Float64Array(capacity), 1);
    this.#tail = move(this.#tail, new Float64Array(capacity), 1);
    this.#capacity = capacity;
    this.#mask = capacity - 1;
    this.#headPos = 0;
  }
}
