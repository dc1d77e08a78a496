/**
 * An open-addressing hash table from 128-bit fingerprints to four 32-bit values, held in one Uint32Array.
 *
 * It exists for the de-duplication index, which holds hundreds of thousands of records at a time: as plain
 * JS objects they would cost ~200 bytes each on the garbage-collected heap (and V8 lets the heap grow to
 * several times what is live before collecting); here a record costs 32 bytes outside that heap and the
 * collector never traces it. Linear probing; entries are never deleted (the de-duplicator drops whole
 * tables), only marked, so probe chains stay intact.
 *
 * Value word 0 == 0 marks an empty slot, so it is always non-zero in a taken slot.
 */

/** Words per slot: 4 of fingerprint, 4 of value. */
const STRIDE = 8;
const VALUE = 4;
const MIN_SLOTS = 1024;
/** Grow when more than this share of the slots is taken (linear probing stays short well below 0.7). */
const MAX_LOAD = 0.5;

export const VALUE_WORDS = 4;

export class FingerprintTable {
  #words: Uint32Array;
  #mask: number;
  #used = 0;

  /** `expected`: how many entries the table will probably hold (it grows beyond as needed). */
  constructor(expected = 0) {
    let slots = MIN_SLOTS;
    while (slots * MAX_LOAD < expected) slots *= 2;
    this.#words = new Uint32Array(slots * STRIDE);
    this.#mask = slots - 1;
  }

  /** Slots taken (entries ever inserted). */
  get used(): number {
    return this.#used;
  }

  /** Bytes of the backing array. */
  get bytes(): number {
    return this.#words.byteLength;
  }

  /** The slot holding fingerprint (a, b, c, d), or -1. */
  find(a: number, b: number, c: number, d: number): number {
    const w = this.#words;
    for (let slot = a & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const base = slot * STRIDE;
      if (w[base + VALUE] === 0) return -1;
      if (w[base] === a && w[base + 1] === b && w[base + 2] === c && w[base + 3] === d) return slot;
    }
  }

  /**
   * Takes a new slot for fingerprint (a, b, c, d), which must not be in the table yet, with value word 0
   * set to `first` (non-zero) and the other value words 0.
   */
  insert(a: number, b: number, c: number, d: number, first: number): number {
    if (first === 0) throw new RangeError("value word 0 must be non-zero (0 marks an empty slot)");
    if (this.#used + 1 > (this.#mask + 1) * MAX_LOAD) this.#grow();
    const slot = this.#emptySlotFor(a);
    const base = slot * STRIDE;
    const w = this.#words;
    w[base] = a;
    w[base + 1] = b;
    w[base + 2] = c;
    w[base + 3] = d;
    w[base + VALUE] = first;
    this.#used++;
    return slot;
  }

  value(slot: number, i: number): number {
    return this.#words[slot * STRIDE + VALUE + i]!;
  }

  /** Sets value word `i`; word 0 must stay non-zero (it marks the slot taken). */
  setValue(slot: number, i: number, v: number): void {
    if (i === 0 && v === 0) throw new RangeError("value word 0 must be non-zero (0 marks an empty slot)");
    this.#words[slot * STRIDE + VALUE + i] = v;
  }

  #emptySlotFor(a: number): number {
    const w = this.#words;
    let slot = a & this.#mask;
    while (w[slot * STRIDE + VALUE] !== 0) slot = (slot + 1) & this.#mask;
    return slot;
  }

  #grow(): void {
    const old = this.#words;
    this.#words = new Uint32Array(old.length * 2);
    this.#mask = (old.length / STRIDE) * 2 - 1;
    const w = this.#words;
    for (let base = 0; base < old.length; base += STRIDE) {
      if (old[base + VALUE] === 0) continue;
      const to = this.#emptySlotFor(old[base]!) * STRIDE;
      // Word by word: a subarray per entry would allocate once per record moved.
      for (let i = 0; i < STRIDE; i++) w[to + i] = old[base + i]!;
    }
  }
}
