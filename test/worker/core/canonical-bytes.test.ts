import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { NotificationEnvelope } from "../../../shared/contracts.ts";
import { Utf8Writer, writeCanonicalJson } from "../../../worker/core/canonical-bytes.ts";
import { canonicalJson } from "../../../worker/core/canonical-json.ts";
import { contentKey, contentText } from "../../../worker/core/content-identity.ts";
import { EventDeduper } from "../../../worker/core/dedupe.ts";

const STRINGS = [
  "",
  "plain",
  'quote " inside',
  "back\\slash",
  "tab\tnew\nline\u0000nul\u001funit",
  "\u007fdel and \u2028 line sep",
  "é ü 日本 \u07ff \u0800 \uffff",
  "emoji \ud83d\ude00 pair \udbff\udfff",
  "lone \ud800 high",
  "lone \udfff low",
  "\ud83d",
];

const VALUES: unknown[] = [
  undefined,
  null,
  0,
  -0,
  1.5e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  10n,
  () => 1,
  Symbol("s"),
  new Date(0),
  { toJSON: () => undefined },
  { toJSON: () => ({ toJSON: () => [1, { b: 1, a: 2 }] }) },
  Object.assign([1, 2], { toJSON: () => "ignored on arrays" }),
  [undefined, () => 1, { toJSON: () => undefined }, Number.NaN],
  { b: undefined, a: () => 1, c: { toJSON: () => undefined }, d: 1 },
  { z: { y: [{ b: 1, a: { d: 1, c: 2 } }] }, a: STRINGS, "\ud83d": 1, é: "é", '"': 2 },
  { sequence: 7, topic: "v2.x", emittedAt: "2024-01-01T00:00:00.000Z", data: { value: 5 } },
  "x".repeat(20_000) + "日本".repeat(5_000),
  ...STRINGS,
];

function bytesOf(value: unknown): Buffer {
  const w = new Utf8Writer();
  writeCanonicalJson(w, value);
  return Buffer.from(w.bytes.subarray(0, w.length));
}

describe("writeCanonicalJson", () => {
  it("writes exactly the UTF-8 of canonicalJson, for every kind of value", () => {
    for (const value of VALUES) {
      expect(bytesOf(value).equals(Buffer.from(canonicalJson(value), "utf8"))).toBe(true);
    }
  });

  it("writes lone surrogates of an unescaped text the way Buffer.from does", () => {
    const w = new Utf8Writer();
    for (const text of STRINGS) {
      w.length = 0;
      w.text(text);
      expect(Buffer.from(w.bytes.subarray(0, w.length)).equals(Buffer.from(text, "utf8"))).toBe(true);
    }
  });
});

describe("EventDeduper content keys", () => {
  it("are contentKey (SHA-256 of the content text), for odd bodies and repeated content", () => {
    const deduper = new EventDeduper({ instanceId: "t" });
    for (const [i, body] of VALUES.entries()) {
      const envelope = {
        topicName: i % 2 ? `v2.topic.${i}` : `v2.tópic \ud83d\ude00 ${i}`,
        eventBody: body,
        metadata: i % 3 ? { CorrelationId: STRINGS[i % STRINGS.length] } : undefined,
      } as NotificationEnvelope;
      for (let n = 1; n <= 3; n++) {
        const decision = deduper.accept("s1", envelope, 0);
        expect(decision.emit).toBe(true);
        expect(decision.contentKey).toBe(contentKey(envelope));
        expect(decision.contentKey).toBe(
          createHash("sha256").update(contentText(envelope), "utf8").digest("hex"),
        );
      }
    }
  });
});
