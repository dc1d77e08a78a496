export interface WaitOptions {
  timeoutMs: number;
  /** Named in the timeout error. */
  what?: string;
  /** How often the predicate is checked. */
  pollMs?: number;
  /** Stop waiting (without an error) once this aborts. */
  signal?: AbortSignal;
}

/**
 * Checks `predicate` every `pollMs` until it holds; throws once `timeoutMs` has passed. Shared by the
 * tests, the benchmarks and the local run, so none of them sleeps a fixed time and hopes.
 */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  { timeoutMs, what = "condition", pollMs = 10, signal }: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (signal?.aborted) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
