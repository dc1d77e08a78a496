/**
 * Parses an HTTP Retry-After header: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3). Pure.
 * Genesys sends seconds; a date is honoured too. Anything else is ignored (undefined), never a guess.
 */
export function retryAfterSeconds(
  value: string | string[] | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === null) return undefined;
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (!Number.isFinite(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, (at - nowMs) / 1000);
}
