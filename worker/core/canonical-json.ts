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
  const keys = sortedKeys(Object.keys(obj));
  let out = "{";
  let first = true;
  for (const key of keys) {
    const encoded = encode(obj[key]);
    if (encoded === undefined) continue;
    out += first ? `${quoteJson(key)}:${encoded}` : `,${quoteJson(key)}:${encoded}`;
    first = false;
  }
  return `${out}}`;
}

// Every event of one kind has the same keys in the same order (JSON.parse keeps the text's order), so the
// sorted order of the last few key lists is remembered instead of sorting them again for each event.
const SHAPES = 16;
const shapeKeys: string[][] = [];
const shapeSorted: string[][] = [];
let nextShape = 0;

function sortedKeys(keys: string[]): string[] {
  shapes: for (let s = 0; s < shapeKeys.length; s++) {
    const known = shapeKeys[s]!;
    if (known.length !== keys.length) continue;
    for (let i = 0; i < keys.length; i++) if (known[i] !== keys[i]) continue shapes;
    return shapeSorted[s]!;
  }
  if (isSorted(keys)) return keys;
  const sorted = [...keys].sort();
  shapeKeys[nextShape] = keys;
  shapeSorted[nextShape] = sorted;
  nextShape = (nextShape + 1) % SHAPES;
  return sorted;
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}
