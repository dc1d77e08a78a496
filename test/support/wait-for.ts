/**
 * Event-driven wait for tests: checks `predicate` every few milliseconds until it holds, or fails with
 * `what` once `timeoutMs` has passed (no fixed sleeps, so tests hold on a loaded machine).
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
