/** Reading typed, validated fields out of the untyped configuration object, collecting every problem. */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export /** Collects problems while reading typed fields out of an untyped object. */
class Reader {
  constructor(
    private readonly problems: string[],
    private readonly source: Record<string, unknown>,
    private readonly where: string,
  ) {}

  private report(key: string, message: string): undefined {
    this.problems.push(`${this.where}${key}: ${message}`);
    return undefined;
  }

  string(key: string, pattern?: RegExp, hint?: string): string | undefined {
    const value = this.source[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value.trim() === "")
      return this.report(key, "must be a non-empty string");
    if (pattern && !pattern.test(value)) return this.report(key, `"${value}" is not ${hint ?? "valid"}`);
    return value;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const value = this.source[key];
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return this.report(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  fraction(key: string): number | undefined {
    const value = this.source[key];
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !(value > 0 && value < 1)) {
      return this.report(key, `must be a number strictly between 0 and 1, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  stringArray(key: string, pattern?: RegExp, hint?: string): string[] | undefined {
    const value = this.source[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.report(key, "must be an array of strings");
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item !== "string" || item.trim() === "") {
        this.report(`${key}[${i}]`, "must be a non-empty string");
      } else if (pattern && !pattern.test(item)) {
        this.report(`${key}[${i}]`, `"${item}" is not ${hint ?? "valid"}`);
      } else {
        out.push(item);
      }
    });
    return out;
  }

  unknownKeys(allowed: ReadonlySet<string>): void {
    for (const key of Object.keys(this.source)) {
      if (!allowed.has(key)) this.report(key, "is not a known setting (typo?)");
    }
  }
}

export function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === "https:";
  } catch {
    return false;
  }
}
