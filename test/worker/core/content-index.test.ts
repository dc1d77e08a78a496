import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../../worker/core/content-identity.ts";
import { ContentIndex, fingerprintWords } from "../../../worker/core/content-index.ts";

/** A small deterministic generator (the test must be reproducible). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

describe("fingerprintWords", () => {
  it("reads the first 128 bits of a hex digest as four big-endian words", () => {
    const out = fingerprintWords(`0123456789abcdefFEDCBA9876543210${"0".repeat(32)}`, new Uint32Array(4));
    expect([...out]).toEqual([0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210]);
  });
});

describe("ContentIndex", () => {
  it("behaves like a Map under random inserts (set, and add for absent keys), updates and deletes, through growth and shrinking", () => {
    const next = lcg(7);
    const index = new ContentIndex();
    const model = new Map<string, number>();
    const fp = new Uint32Array(4);
    // Few distinct home slots: many keys share a probe run, so deletion's backward shift is exercised.
    const keyOf = (n: number) => [n & 0x3ff, n, n ^ 0x55, 7] as const;
    for (let step = 0; step < 20_000; step++) {
      const n = next() % 5_000;
      const [a, b, c, d] = keyOf(n);
      const op = next() % 10;
      if (op < 5) {
        const value = (next() % 1_000_000) + 1;
        if (model.has(String(n)) || op === 0) index.set(a, b, c, d, value);
        else index.add(a, b, c, d, value);
        model.set(String(n), value);
      } else if (op < 8) {
        expect(index.delete(a, b, c, d)).toBe(model.delete(String(n)));
      } else {
        expect(index.get(a, b, c, d)).toBe(model.get(String(n)) ?? 0);
      }
      if (step % 4_000 === 0) index.shrinkIfSparse();
    }
    expect(index.size).toBe(model.size);
    for (const [k, v] of model) {
      const [a, b, c, d] = keyOf(Number(k));
      expect(index.get(a, b, c, d)).toBe(v);
    }
    for (const k of model.keys()) {
      const [a, b, c, d] = keyOf(Number(k));
      index.delete(a, b, c, d);
    }
    expect(index.size).toBe(0);
    fingerprintWords(sha256Hex("absent"), fp);
    expect(index.get(fp[0]!, fp[1]!, fp[2]!, fp[3]!)).toBe(0);
  });

  it("keeps values above 2^32 exactly and refuses values that could mark an empty slot", () => {
    const index = new ContentIndex();
    index.set(1, 2, 3, 4, 2 ** 40 + 5);
    expect(index.get(1, 2, 3, 4)).toBe(2 ** 40 + 5);
    expect(() => index.set(1, 2, 3, 4, 0)).toThrow(RangeError);
    expect(() => index.set(1, 2, 3, 4, 1.5)).toThrow(RangeError);
  });

  it("shrinks only below the peak use since the last call, and keeps every entry when it does", () => {
    const index = new ContentIndex();
    const h = (n: number) => Math.imul(n, 0x9e3779b1) >>> 0; // spread like the SHA-256 words it holds
    for (let n = 1; n <= 50_000; n++) index.set(h(n), n, n, n, n);
    for (let n = 1; n <= 49_990; n++) index.delete(h(n), n, n, n);
    const grown = index.slots;
    expect(grown).toBeGreaterThanOrEqual(100_000);
    index.shrinkIfSparse(); // the peak (50k) was in this period: too early to shrink
    expect(index.slots).toBe(grown);
    index.shrinkIfSparse(); // now the peak is 10 entries
    expect(index.slots).toBe(1024);
    for (let n = 49_991; n <= 50_000; n++) expect(index.get(h(n), n, n, n)).toBe(n);
    for (let n = 1; n <= 49_990; n += 997) expect(index.get(h(n), n, n, n)).toBe(0);
    expect(index.size).toBe(10);
  });
});
