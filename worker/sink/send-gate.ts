/**
 * Holds a staged SendMessageBatch after the SDK has serialised and signed it, just before the request is
 * written: the sink prepares a group's next batch while the group's previous batch is in flight, and writes
 * it in the same turn that batch is acknowledged (group-scheduler.ts, rule 4). Nothing reaches the socket
 * before `open()`; `cancel()` ends the call unwritten. The request timeout runs from `open()`, not from
 * staging, so the time spent waiting for the previous batch does not count against it.
 */
/** A staged batch dropped before it was written (its group's previous batch was not all delivered). */
export class SendCancelled extends Error {
  override readonly name = "SendCancelled";
}

export class SendGate {
  readonly #abort = new AbortController();
  readonly #opened: Promise<void>;
  #resolve!: () => void;
  #reject!: (err: Error) => void;
  #state: "staged" | "open" | "cancelled" = "staged";
  #timer: NodeJS.Timeout | undefined;

  constructor() {
    this.#opened = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A cancelled gate nobody awaits yet must not count as an unhandled rejection.
    this.#opened.catch(() => {});
  }

  get cancelled(): boolean {
    return this.#state === "cancelled";
  }

  /** Aborts the request `timeoutMs` after the gate opens. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The request may be written; it times out `timeoutMs` from now. */
  open(timeoutMs: number): void {
    if (this.#state !== "staged") return;
    this.#state = "open";
    this.#timer = setTimeout(() => {
      this.#abort.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    }, timeoutMs);
    this.#resolve();
  }

  /** The request is never written; the call fails with SendCancelled. */
  cancel(): void {
    if (this.#state !== "staged") return;
    this.#state = "cancelled";
    this.#reject(new SendCancelled("staged batch cancelled before it was sent"));
  }

  /** The call is over: its timeout no longer matters. */
  finished(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Settles when the gate opens; rejects with SendCancelled when it is cancelled. */
  opened(): Promise<void> {
    return this.#opened;
  }
}
