/**
 * Splits entries, in order, into SendMessageBatch-sized batches: at most `maxEntries` entries and at most
 * `maxBytes` in total per batch. An entry that alone exceeds `maxBytes` cannot be sent at all; it is
 * returned in `oversized` (with its position) for the caller to offload or dead-letter.
 */

export interface PackLimits {
  maxEntries: number;
  maxBytes: number;
}

/** SQS limits: 10 entries per SendMessageBatch, 1 MiB per message and per batch in total (since 2025). */
export const SQS_BATCH_LIMITS: Readonly<PackLimits> = Object.freeze({ maxEntries: 10, maxBytes: 1_048_576 });

export interface PackResult<T> {
  batches: T[][];
  oversized: T[];
}

export function packBatches<T extends { bodyBytes: number }>(
  entries: readonly T[],
  limits: PackLimits = SQS_BATCH_LIMITS,
): PackResult<T> {
  if (!(limits.maxEntries >= 1) || !(limits.maxBytes >= 1)) {
    throw new RangeError("packBatches: maxEntries and maxBytes must be >= 1");
  }
  const batches: T[][] = [];
  const oversized: T[] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    if (entry.bodyBytes > limits.maxBytes) {
      oversized.push(entry);
      continue;
    }
    if (current.length >= limits.maxEntries || currentBytes + entry.bodyBytes > limits.maxBytes) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += entry.bodyBytes;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}
