/** Parses `--since` / `--until` values: ISO-8601 timestamps, `now`, or relative ages such as `90s`, `30m`, `24h`, `7d`, `2w`. */

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const RELATIVE = /^(\d+)([smhdw])$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Returns the instant as epoch milliseconds, or `undefined` when the value is not a recognised time. */
export function parseTimeBound(value: string, nowMs: number): number | undefined {
  const trimmed = value.trim();
  if (trimmed === "now") return nowMs;
  const relative = RELATIVE.exec(trimmed);
  if (relative) {
    const amount = Number(relative[1]);
    const unit = UNIT_MS[relative[2] as string] as number;
    return nowMs - amount * unit;
  }
  if (!ISO_DATE.test(trimmed)) return undefined;
  // A bare date or a time without zone is read as UTC: audit times are UTC and a laptop's zone must not shift the window.
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/.test(trimmed) && trimmed.length > 10;
  const normalised = trimmed.replace(" ", "T");
  const parsed = Date.parse(
    hasZone ? normalised : `${normalised.length === 10 ? `${normalised}T00:00:00` : normalised}Z`,
  );
  return Number.isNaN(parsed) ? undefined : parsed;
}
