import { describe, expect, it } from "vitest";
import { packBatches, SQS_BATCH_LIMITS } from "../../../worker/core/batch-pack.ts";

const e = (id: string, bodyBytes: number) => ({ id, bodyBytes });

describe("packBatches", () => {
  it("puts at most 10 entries in a batch, in order", () => {
    const entries = Array.from({ length: 25 }, (_, i) => e(`m${i}`, 100));
    const { batches, oversized } = packBatches(entries);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(batches.flat()).toEqual(entries);
    expect(oversized).toEqual([]);
  });

  it("keeps each batch within the total byte limit, exactly at the limit allowed", () => {
    const entries = [e("a", 400_000), e("b", 400_000), e("c", 248_576), e("d", 1), e("e", 1_048_576)];
    const { batches } = packBatches(entries, SQS_BATCH_LIMITS);
    expect(batches.map((b) => b.map((x) => x.id))).toEqual([["a", "b", "c"], ["d"], ["e"]]);
    for (const b of batches) expect(b.reduce((s, x) => s + x.bodyBytes, 0)).toBeLessThanOrEqual(1_048_576);
  });

  it("reports an entry alone over the limit separately and keeps the rest", () => {
    const { batches, oversized } = packBatches([e("a", 10), e("big", 1_048_577), e("b", 10)]);
    expect(oversized.map((x) => x.id)).toEqual(["big"]);
    expect(batches.map((b) => b.map((x) => x.id))).toEqual([["a", "b"]]);
  });

  it("handles empty input and validates limits", () => {
    expect(packBatches([])).toEqual({ batches: [], oversized: [] });
    expect(() => packBatches([e("a", 1)], { maxEntries: 0, maxBytes: 10 })).toThrow(RangeError);
  });
});
