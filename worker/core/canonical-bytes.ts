/**
 * canonicalJson (canonical-json.ts), written as UTF-8 straight into a reusable byte buffer instead of built
 * as a string. The de-dup key hashes this text for every event; building it as a string meant a rope of
 * a dozen pieces per event that then had to be flattened and re-encoded to UTF-8 before hashing, which
 * cost more than the hash itself. The bytes are exactly Buffer.from(canonicalJson(value), "utf8").
 */
import { canonicalShape } from "./canonical-json.ts";

// Same characters as canonical-json.ts NEEDS_ESCAPE: those strings take the JSON.stringify path.
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes exactly these control characters.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A growable UTF-8 byte buffer, reused from one event to the next. */
export class Utf8Writer {
  bytes = new Uint8Array(4096);
  length = 0;

  /** Appends `text` as UTF-8 (a lone surrogate becomes U+FFFD, as Buffer.from does). */
  text(text: string): void {
    const n = text.length;
    if (this.length + n * 3 > this.bytes.length) this.#grow(n * 3);
    const b = this.bytes;
    let p = this.length;
    for (let i = 0; i < n; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        b[p++] = c;
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      } else {
        const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          b[p++] = 0xf0 | (c >> 18);
          b[p++] = 0x80 | ((c >> 12) & 0x3f);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
        } else {
          b[p++] = 0xef;
          b[p++] = 0xbf;
          b[p++] = 0xbd;
        }
      }
    }
    this.length = p;
  }

  /** Appends one ASCII character. */
  char(code: number): void {
    if (this.length + 1 > this.bytes.length) this.#grow(1);
    this.bytes[this.length++] = code;
  }

  /** A JSON string literal for `text`, as quoteJson gives it. */
  quoted(text: string): void {
    if (NEEDS_ESCAPE.test(text)) {
      this.text(JSON.stringify(text));
      return;
    }
    this.char(QUOTE);
    this.text(text);
    this.char(QUOTE);
  }

  #grow(extra: number): void {
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const bytes = new Uint8Array(size);
    bytes.set(this.bytes.subarray(0, this.length));
    this.bytes = bytes;
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;

/** Writes canonicalJson(value). */
export function writeCanonicalJson(w: Utf8Writer, value: unknown): void {
  if (!write(w, resolve(value))) w.text("null");
}

/** What encode() in canonical-json.ts encodes in place of `value`: toJSON() of a non-array object. */
function resolve(value: unknown): unknown {
  while (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  ) {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  return value;
}

function omitted(value: unknown): boolean {
  const t = typeof value;
  return t === "undefined" || t === "function" || t === "symbol";
}

/** Writes an already resolved value; false (nothing written) where JSON.stringify would omit it. */
function write(w: Utf8Writer, value: unknown): boolean {
  switch (typeof value) {
    case "string":
      w.quoted(value);
      return true;
    case "number":
      w.text(Number.isFinite(value) ? String(value) : "null");
      return true;
    case "boolean":
      w.text(value ? "true" : "false");
      return true;
    case "bigint":
      w.text(JSON.stringify(value.toString()));
      return true;
    case "undefined":
    case "function":
    case "symbol":
      return false;
  }
  if (value === null) {
    w.text("null");
    return true;
  }
  if (Array.isArray(value)) {
    w.char(0x5b);
    for (let i = 0; i < value.length; i++) {
      if (i > 0) w.char(COMMA);
      if (!write(w, resolve(value[i]))) w.text("null");
    }
    w.char(0x5d);
    return true;
  }
  const obj = value as Record<string, unknown>;
  const shape = canonicalShape(Object.keys(obj));
  const keys = shape.sorted;
  w.char(0x7b);
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const member = resolve(obj[keys[i]!]);
    if (omitted(member)) continue;
    if (!first) w.char(COMMA);
    first = false;
    w.text(shape.members[i]!);
    write(w, member);
  }
  w.char(0x7d);
  return true;
}
