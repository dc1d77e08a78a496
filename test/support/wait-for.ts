import { waitUntil } from "../../tools/wait-until.ts";

/**
 * Event-driven wait for tests: checks `predicate` every few milliseconds until it holds, or fails with
 * `what` once `timeoutMs` has passed (no fixed sleeps, so tests hold on a loaded machine).
 */
export function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  return waitUntil(predicate, { timeoutMs, what, pollMs: 10 });
}
