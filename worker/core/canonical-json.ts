/**
 * Canonical JSON: object keys sorted (recursively), otherwise JSON.stringify semantics
 * (undefined members and functions omitted, non-finite numbers become null).
 * Two bodies that differ only in key order give the same text. Hot path (every event of every session).
 */
export function canonicalJson(value: unknown): string {
  const text = encode(value);
  return text === undefined ? "null" : text;
}

// Characters JSON.stringify escapes in a string: quote, backslash, controls, and lone surrogates (the
// check is on UTF-16 units, so it also flags paired ones; those just take the JSON.stringify path).
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes exactly these control characters.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify for a string, without its cost when nothing needs escaping (the usual case). */
export function quoteJson(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

function encode(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return quoteJson(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return JSON.stringify(value.toString());
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += encode(value[i]) ?? "null";
    }
    return `${out}]`;
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === "function") return encode(withToJson.toJSON());
  const obj = value as Record<string, unknown>;
  const shape = canonicalShape(Object.keys(obj));
  const keys = shape.sorted;
  let out = "{";
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const encoded = encode(obj[keys[i]!]);
    if (encoded === undefined) continue;
    if (first) {
      out += shape.members[i]! + encoded;
      first = false;
    } else {
      out += `,${shape.members[i]!}${encoded}`;
    }
  }
  return `${out}}`;
}

/** A key list in sorted order, with each key's `"key":` text, so neither is redone for each event. */
export interface Shape {
  sorted: string[];
  members: string[];
}

// Every event of one kind has the same keys in the same order (JSON.parse keeps the text's order), so the
// shape of the last few key lists is remembered instead of sorting and quoting them again for each event.
const SHAPES = 32;
const shapeKeys: string[][] = [];
const shapes: Shape[] = [];
let nextShape = 0;

/** The sorted order and member prefixes of an object with these keys (in their own order). */
export function canonicalShape(keys: string[]): Shape {
  known: for (let s = 0; s < shapeKeys.length; s++) {
    const known = shapeKeys[s]!;
    if (known.length !== keys.length) continue;
    for (let i = 0; i < keys.length; i++) if (known[i] !== keys[i]) continue known;
    return shapes[s]!;
  }
  const sorted = isSorted(keys) ? keys : [...keys].sort();
  const shape: Shape = { sorted, members: sorted.map((key) => `${quoteJson(key)}:`) };
  shapeKeys[nextShape] = keys;
  shapes[nextShape] = shape;
  nextShape = (nextShape + 1) % SHAPES;
  return shape;
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}
