import { describe, expect, it } from "vitest";
import { canonicalJson, quoteJson } from "../../../worker/core/canonical-json.ts";

describe("canonicalJson", () => {
  it("sorts keys recursively, arrays keep their order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it("follows JSON.stringify for odd values", () => {
    expect(canonicalJson(undefined)).toBe("null");
    expect(canonicalJson({ a: undefined, b: Number.NaN, c: [undefined] })).toBe('{"b":null,"c":[null]}');
    expect(canonicalJson("é\n\u2028")).toBe(JSON.stringify("é\n\u2028"));
    expect(canonicalJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
    expect(JSON.parse(canonicalJson({ x: [1, "2", true, null] }))).toEqual({ x: [1, "2", true, null] });
  });
});

describe("canonicalJson key order across many object shapes", () => {
  it("sorts every shape, however many there are and however they interleave", () => {
    const reference = (value: unknown): string =>
      JSON.stringify(value, (_key, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v)
          ? Object.fromEntries(
              Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
            )
          : v,
      );
    const shapes = Array.from({ length: 40 }, (_, n) =>
      Array.from({ length: 1 + (n % 6) }, (_, k) => `k${(n * 7 + k * 13) % 50}`).reverse(),
    );
    for (let pass = 0; pass < 3; pass++) {
      for (const [n, keys] of shapes.entries()) {
        const body = JSON.parse(
          JSON.stringify(Object.fromEntries(keys.map((key, k) => [key, { z: n, a: [k, { y: 1, b: 2 }] }]))),
        );
        expect(canonicalJson(body)).toBe(reference(body));
      }
    }
  });
});

describe("quoteJson", () => {
  it("is JSON.stringify for every kind of string", () => {
    const samples = [
      "",
      "plain",
      'quote " inside',
      "back\\slash",
      "tab\tnew\nline\u0000nul\u001funit",
      "\u007fdel and \u2028 line sep",
      "é ü 日本",
      "emoji \ud83d\ude00 pair",
      "lone \ud800 high",
      "lone \udfff low",
      "\ud83d",
    ];
    for (const text of samples) expect(quoteJson(text)).toBe(JSON.stringify(text));
    for (let code = 0; code < 0x10000; code += 1) {
      const text = `a${String.fromCharCode(code)}b`;
      if (quoteJson(text) !== JSON.stringify(text)) expect(quoteJson(text)).toBe(JSON.stringify(text));
    }
  });
});
