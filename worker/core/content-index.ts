/**
 * An open-addressing hash map from 128-bit fingerprints (four 32-bit words of a SHA-256) to a positive
 * number, held in typed arrays.
 *
 * It exists for the de-duplicator, which indexes every occurrence of the last lag bound: at 100k events/s
 * and a 10 s bound that is a million entries. In a JS Map keyed by 64-character hex strings each insert
 * costs about a microsecond (string hashing, rehashing, cache misses) and every key lives on the
 * garbage-collected heap; here an entry is 32 bytes the collector never traces. Linear probing, load at
 * most 1/2, deletion by backward shift (no tombstones, so probe chains stay short however long it runs).
 */

const MIN_SLOTS = 1024;
const MAX_LOAD = 0.5;
/** Words per slot: fingerprint (4), value low and high 32 bits, taken flag, padding (32 bytes, half a cache line). */
const STRIDE = 8;
const TAKEN = 6;
const TWO_32 = 2 ** 32;

export class ContentIndex {
  #slots: Uint32Array;
  #mask: number;
  #size = 0;
  /** Most entries held since the last shrinkIfSparse. */
  #peak = 0;

  constructor() {
    this.#slots = new Uint32Array(MIN_SLOTS * STRIDE);
    this.#mask = MIN_SLOTS - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Slots allocated (the memory held is 32 bytes each). */
  get slots(): number {
    return this.#mask + 1;
  }

  /** The value stored for fingerprint (a, b, c, d), or 0. */
  get(a: number, b: number, c: number, d: number): number {
    const slot = this.#find(a, b, c, d);
    if (slot < 0) return 0;
    const t = this.#slots;
    return t[slot * STRIDE + 5]! * TWO_32 + t[slot * STRIDE + 4]!;
  }

  /** Stores `value` (a positive integer below 2^53) for the fingerprint, replacing any value it had. */
  set(a: number, b: number, c: number, d: number, value: number): void {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new RangeError("ContentIndex values are positive integers");
    let slot = this.#find(a, b, c, d);
    if (slot < 0) {
      if (this.#size + 1 > (this.#mask + 1) * MAX_LOAD) this.#grow();
      slot = this.#emptySlotFor(a);
      const t = this.#slots;
      const base = slot * STRIDE;
      t[base] = a;
      t[base + 1] = b;
      t[base + 2] = c;
      t[base + 3] = d;
      t[base + TAKEN] = 1;
      if (++this.#size > this.#peak) this.#peak = this.#size;
    }
    const base = slot * STRIDE;
    this.#slots[base + 4] = value % TWO_32;
    this.#slots[base + 5] = Math.floor(value / TWO_32);
  }

  /**
   * Stores a fingerprint the caller knows is absent (it just got 0 from get() and nothing changed the
   * index since): set() without its second lookup, which on the de-dup hot path is every new event.
   */
  add(a: number, b: number, c: number, d: number, value: number): void {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new RangeError("ContentIndex values are positive integers");
    if (this.#size + 1 > (this.#mask + 1) * MAX_LOAD) this.#grow();
    const base = this.#emptySlotFor(a) * STRIDE;
    const t = this.#slots;
    t[base] = a;
    t[base + 1] = b;
    t[base + 2] = c;
    t[base + 3] = d;
    t[base + 4] = value % TWO_32;
    t[base + 5] = Math.floor(value / TWO_32);
    t[base + TAKEN] = 1;
    if (++this.#size > this.#peak) this.#peak = this.#size;
  }

  /** Removes the fingerprint; false if it was not there. */
  delete(a: number, b: number, c: number, d: number): boolean {
    let hole = this.#find(a, b, c, d);
    if (hole < 0) return false;
    const t = this.#slots;
    const mask = this.#mask;
    // Backward shift: pull later entries of the probe run into the hole when their home slot allows it.
    for (let slot = (hole + 1) & mask; t[slot * STRIDE + TAKEN] !== 0; slot = (slot + 1) & mask) {
      const home = t[slot * STRIDE]! & mask;
      const movable = hole <= slot ? home <= hole || home > slot : home <= hole && home > slot;
      if (!movable) continue;
      t.copyWithin(hole * STRIDE, slot * STRIDE, slot * STRIDE + STRIDE);
      hole = slot;
    }
    t[hole * STRIDE + TAKEN] = 0;
    this.#size--;
    return true;
  }

  /**
   * Gives memory back after a burst: rebuilds at a smaller size if at most 1/16 of the slots was used at
   * any time since the last call (call it rarely, e.g. once a minute, so a bursty load does not make the
   * table shrink and grow again between bursts).
   */
  shrinkIfSparse(): void {
    const current = this.#mask + 1;
    let slots = current;
    while (slots > MIN_SLOTS && this.#peak * 16 <= slots) slots /= 2;
    if (slots < current) this.#rebuild(slots);
    this.#peak = this.#size;
  }

  #find(a: number, b: number, c: number, d: number): number {
    const t = this.#slots;
    const mask = this.#mask;
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      const base = slot * STRIDE;
      if (t[base + TAKEN] === 0) return -1;
      if (t[base] === a && t[base + 1] === b && t[base + 2] === c && t[base + 3] === d) return slot;
    }
  }

  #emptySlotFor(a: number): number {
    const t = this.#slots;
    let slot = a & this.#mask;
    while (t[slot * STRIDE + TAKEN] !== 0) slot = (slot + 1) & this.#mask;
    return slot;
  }

  #grow(): void {
    this.#rebuild((this.#mask + 1) * 2);
  }

  #rebuild(slots: number): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(slots * STRIDE);
    this.#mask = slots - 1;
    const t = this.#slots;
    for (let base = 0; base < old.length; base += STRIDE) {
      if (old[base + TAKEN] === 0) continue;
      const to = this.#emptySlotFor(old[base]!) * STRIDE;
      // Word by word: a subarray per entry would allocate once per entry moved.
      for (let w = 0; w < STRIDE; w++) t[to + w] = old[base + w]!;
    }
  }
}

const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = HEX_VALUE[65 + i] = 10 + i;

/** The first 128 bits of a SHA-256 hex digest as four unsigned 32-bit words, written into `out`. */
export function fingerprintWords(hex: string, out: Uint32Array): Uint32Array {
  for (let w = 0; w < 4; w++) {
    let v = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) v = (v << 4) | HEX_VALUE[hex.charCodeAt(i) & 127]!;
    out[w] = v;
  }
  return out;
}
