import type { FaultQueueControl, HttpFault } from "./types.ts";

/** FIFO of forced outcomes for one HTTP endpoint. */
export class FaultQueue implements FaultQueueControl {
  private queue: { fault: HttpFault; remaining: number }[] = [];

  next(n: number, fault: HttpFault): void {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`fault count must be a positive integer, got ${n}`);
    this.queue.push({ fault, remaining: n });
  }

  clear(): void {
    this.queue = [];
  }

  get pending(): number {
    return this.queue.reduce((sum, item) => sum + item.remaining, 0);
  }

  /** The fault for the current request, if any (consumes one). */
  take(): HttpFault | undefined {
    const head = this.queue[0];
    if (!head) return undefined;
    head.remaining--;
    if (head.remaining === 0) this.queue.shift();
    return head.fault;
  }
}
