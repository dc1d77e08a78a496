/**
 * Canonical JSON: object keys sorted (recursively), otherwise JSON.stringify semantics
 * (undefined members and functions omitted, non-finite numbers become null).
 * Two bodies that differ only in key order give the same text. Hot path (every event of every session).
 */
export function canonicalJson(value: unknown): string {
  const text = encode(value);
  return text === undefined ? "null" : text;
}

function encode(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
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
  const keys = Object.keys(obj);
  if (!isSorted(keys)) keys.sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const encoded = encode(obj[key]);
    if (encoded === undefined) continue;
    out += first ? `${JSON.stringify(key)}:${encoded}` : `,${JSON.stringify(key)}:${encoded}`;
    first = false;
  }
  return `${out}}`;
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}
