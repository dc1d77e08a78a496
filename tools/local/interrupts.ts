/**
 * Ctrl-C handling for `npm start`. One keypress reaches this process several times: the terminal signals the
 * whole foreground process group, and npm and tsx each forward the signal to their child as well. Copies that
 * arrive within `sameKeypressMs` of the first are the same keypress; a later one is a deliberate second Ctrl-C.
 */
export interface InterruptHandlerOptions {
  /** First Ctrl-C: stop gracefully (drain, then print the summary). */
  onStop: () => void;
  /** A second, separate Ctrl-C: give up on draining. */
  onForce: () => void;
  now?: () => number;
  sameKeypressMs?: number;
}

export const SAME_KEYPRESS_MS = 1_500;

export function createInterruptHandler(options: InterruptHandlerOptions): () => void {
  const now = options.now ?? Date.now;
  const window = options.sameKeypressMs ?? SAME_KEYPRESS_MS;
  let firstAt: number | undefined;
  let forced = false;
  return () => {
    const at = now();
    if (firstAt === undefined) {
      firstAt = at;
      options.onStop();
      return;
    }
    if (forced || at - firstAt < window) return;
    forced = true;
    options.onForce();
  };
}
