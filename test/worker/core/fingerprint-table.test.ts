import { describe, expect, it } from "vitest";
import { FingerprintTable, VALUE_WORDS } from "../../../worker/core/fingerprint-table.ts";

/** Deterministic 32-bit words (xorshift), so the test needs no randomness. */
function words(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe("FingerprintTable", () => {
  it("finds what was inserted, with its values, across growth; misses what was not", () => {
    const next = words(42);
    const t = new FingerprintTable();
    const keys = Array.from({ length: 20_000 }, () => [next(), next(), next(), next()] as const);
    keys.forEach(([a, b, c, d], i) => {
      const slot = t.insert(a, b, c, d, i + 1);
      t.setValue(slot, VALUE_WORDS - 1, 2 * i);
    });
    expect(t.used).toBe(keys.length);
    keys.forEach(([a, b, c, d], i) => {
      const slot = t.find(a, b, c, d);
      expect(slot).toBeGreaterThanOrEqual(0);
      expect(t.value(slot, 0)).toBe(i + 1);
      expect(t.value(slot, 1)).toBe(0);
      expect(t.value(slot, VALUE_WORDS - 1)).toBe(2 * i);
    });
    for (let i = 0; i < 1_000; i++) expect(t.find(next(), next(), next(), next())).toBe(-1);
    // Same first word (same home slot), different rest: still told apart.
    const [a, b, c, d] = keys[0]!;
    expect(t.find(a, b, c, (d + 1) >>> 0)).toBe(-1);
    expect(t.find(a, (b + 1) >>> 0, c, d)).toBe(-1);
  });

  it("stays at most half full: bytes grow with entries, 32 bytes a slot", () => {
    const next = words(7);
    const t = new FingerprintTable();
    for (let i = 0; i < 10_000; i++) t.insert(next(), next(), next(), next(), 1);
    expect(t.bytes / 32).toBeGreaterThanOrEqual(2 * t.used);
    expect(t.bytes / 32).toBeLessThanOrEqual(4 * t.used);
    expect(new FingerprintTable(10_000).bytes).toBe(t.bytes);
  });

  it("refuses 0 in value word 0 (it marks an empty slot)", () => {
    const t = new FingerprintTable();
    expect(() => t.insert(1, 2, 3, 4, 0)).toThrow(RangeError);
    const slot = t.insert(1, 2, 3, 4, 9);
    expect(() => t.setValue(slot, 0, 0)).toThrow(RangeError);
    expect(t.find(1, 2, 3, 4)).toBe(slot);
  });
});
