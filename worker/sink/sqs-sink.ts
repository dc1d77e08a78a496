import type { QueuedMessage } from "../../shared/contracts.ts";
import type { EventSink } from "../core/event-sink.ts";
import { BacklogBound } from "./backlog-bound.ts";
import { BacklogView } from "./backlog-view.ts";
import { DeadLetterPath } from "./dead-letter.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import { type Entry, EntryBuffer } from "./entry-buffer.ts";
import { EntryFactory } from "./entry-factory.ts";
import { DEFAULT_INFLIGHT_MAX, DEFAULT_INFLIGHT_MIN, InflightController } from "./inflight-controller.ts";
import { invalidMessage } from "./message-check.ts";
import { Offloader } from "./offloader.ts";
import { PumpTiming } from "./pump-timing.ts";
import { SendBackoff } from "./send-backoff.ts";
import { errorCode } from "./send-errors.ts";
import { SendPath } from "./send-path.ts";
import type { DurableTier, SqsSinkOptions } from "./sink-options.ts";
import { NO_METRICS, SILENT_LOGGER, type SinkLogger, type SinkMetrics } from "./sink-ports.ts";
import type { Spool } from "./spool.ts";
import { SpoolHandoff } from "./spool-handoff.ts";

export { DEAD_LETTER_FILE } from "./dead-letter.ts";
export { ENTRY_OVERHEAD_BYTES } from "./entry-buffer.ts";
export { invalidMessage } from "./message-check.ts";
export type { DurableTier, SqsSinkOptions } from "./sink-options.ts";
export type { DeadLetterEntry, DeadLetterError, SinkLogger, SinkMetrics } from "./sink-ports.ts";

/** SQS's message (and batch) size limit since 2025; the CDK queue sets MaximumMessageSize to it explicitly. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** Most SendMessageBatch requests in flight at once by default (FIFO: at most one per message group). */
export const DEFAULT_MAX_IN_FLIGHT_BATCHES = DEFAULT_INFLIGHT_MAX;
/** At close, dead-letter records still being sent after this long are written to the local file as well. */
const DEAD_LETTER_CLOSE_GRACE_MS = 2_000;

export class SqsSink implements EventSink {
  readonly fifo: boolean;
  readonly #o: SqsSinkOptions & {
    maxMessageBytes: number;
    maxBatchBytes: number;
    requestTimeoutMs: number;
  };
  readonly #now: () => number;
  readonly #log: SinkLogger;
  readonly #metrics: SinkMetrics;
  readonly #backoff: SendBackoff;
  readonly #handoff: SpoolHandoff;
  readonly #buffer: EntryBuffer;
  readonly #deadLetters: DeadLetterPath;
  readonly #offloader: Offloader;
  readonly #controller: InflightController;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #drainWaiters = new Set<() => void>();
  readonly #view: BacklogView;
  readonly #entries: EntryFactory;
  readonly #bound: BacklogBound;
  readonly #sendPath: SendPath;
  #evictPending = false;
  #held = false;
  readonly #pumpTiming: PumpTiming;
  #lastPumpMs: number;
  #closed = false;

  constructor(opts: SqsSinkOptions) {
    this.#o = {
      maxMessageBytes: SQS_MAX_MESSAGE_BYTES,
      maxBatchBytes: SQS_MAX_MESSAGE_BYTES,
      requestTimeoutMs: 10_000,
      ...opts,
    };
    this.fifo = opts.fifo ?? opts.queueUrl.endsWith(".fifo");
    this.#now = opts.now ?? Date.now;
    this.#lastPumpMs = this.#now();
    this.#pumpTiming = new PumpTiming(() => this.#pump(), this.#now);
    const fixed = opts.maxInFlightBatches;
    this.#controller = new InflightController({
      ...(opts.inFlight ??
        (fixed !== undefined
          ? { min: fixed, max: fixed }
          : { min: DEFAULT_INFLIGHT_MIN, max: DEFAULT_INFLIGHT_MAX })),
      now: this.#now,
    });
    this.#log = opts.logger ?? SILENT_LOGGER;
    this.#metrics = opts.metrics ?? NO_METRICS;
    this.#backoff = new SendBackoff({
      ...opts.retry,
      now: this.#now,
      ...(opts.random ? { random: opts.random } : {}),
      log: this.#log,
    });
    this.#entries = new EntryFactory(this.fifo, this.#controller.max, this.#o.maxMessageBytes, this.#now);
    this.#bound = new BacklogBound(opts.maxBacklogBytes, this.#log, this.#metrics);
    this.#buffer = new EntryBuffer(opts.memoryLimit ?? 10_000, opts.memoryLimitBytes ?? 16 * 1024 * 1024);
    this.#deadLetters = new DeadLetterPath({
      dir: opts.spoolDir,
      log: this.#log,
      metrics: this.#metrics,
      now: this.#now,
      maxRecordBytes: this.#o.maxMessageBytes,
      onDeadLetter: opts.onDeadLetter,
      ...(opts.deadLetterQueueUrl
        ? {
            queue: new DeadLetterQueue({
              sqs: opts.sqs,
              queueUrl: opts.deadLetterQueueUrl,
              requestTimeoutMs: this.#o.requestTimeoutMs,
              ...opts.deadLetterRetry,
            }),
          }
        : {}),
    });
    this.#offloader = new Offloader({
      s3: opts.s3,
      bucket: opts.offloadBucket,
      prefix: opts.offloadPrefix,
      requestTimeoutMs: this.#o.requestTimeoutMs,
      maxMessageBytes: this.#o.maxMessageBytes,
    });
    this.#handoff = new SpoolHandoff(
      opts.spoolDir,
      {
        maxSegmentLines: opts.spoolSegmentLines,
        maxSegmentBytes: opts.spoolSegmentBytes,
        onRemoved: opts.onSegmentRemoved,
        now: this.#now,
      },
      this.#log,
    );
    this.#view = new BacklogView(this.#buffer, this.#handoff.spool, this.#now);
    this.#sendPath = new SendPath({
      target: { sqs: opts.sqs, queueUrl: opts.queueUrl, requestTimeoutMs: this.#o.requestTimeoutMs },
      buffer: this.#buffer,
      handoff: this.#handoff,
      deadLetters: this.#deadLetters,
      offloader: this.#offloader,
      entries: this.#entries,
      controller: this.#controller,
      backoff: this.#backoff,
      metrics: this.#metrics,
      log: this.#log,
      now: this.#now,
      depth: () => this.depth(),
      maySend: () => !this.#closed && !this.#held && this.#backoff.pausedUntilMs() <= this.#now(),
    });
    this.#schedulePump();
  }

  /** The spool, for the durable backlog that mirrors it. */
  get spool(): Spool {
    return this.#handoff.spool;
  }

  /** Connects the durable backlog: from now on a failing SQS makes memory go to the (mirrored) spool. */
  attachDurableTier(tier: DurableTier): void {
    this.#view.attachDurableTier(tier);
  }

  /** While held, everything is spooled and nothing is sent (an adopted backlog must go first). */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#handoff.markSpilling();
    this.#schedulePump();
  }

  /** Segments were inserted in front of the spool: read them before anything newer. */
  spoolChanged(): void {
    this.#handoff.markSpilling();
    this.#schedulePump();
  }

  submit(msg: QueuedMessage): void {
    try {
      const problem = invalidMessage(msg);
      if (problem) {
        this.#deadLetters.message(msg, 0, { code: "invalid_message", message: problem });
        return;
      }
      for (const part of this.#entries.fitGap(msg)) this.#accept(this.#entries.make(part, undefined));
    } catch (err) {
      // Unreachable in practice (bad input is handled in #makeEntry); still never throw to the caller.
      this.#log.error("sink could not accept a message", {
        code: "sink_submit_failed",
        error: errorCode(err),
      });
      this.#deadLetters.message(msg, 0, {
        code: "sink_submit_failed",
        message: String((err as Error)?.message ?? err),
      });
    }
    this.#schedulePump();
  }

  depth(): number {
    return this.#buffer.count() + this.#handoff.unread();
  }

  healthy(): boolean {
    return !this.#closed && !this.#backoff.failing();
  }

  /** Process liveness of the sink: open, and its pump ran recently or has nothing to do. */
  alive(maxIdleMs: number): boolean {
    if (this.#closed) return false;
    if (this.depth() === 0 || this.#backoff.pausedUntilMs() > this.#now() || this.#held) return true;
    return this.#now() - this.#lastPumpMs <= maxIdleMs;
  }

  /** Batches the sink may have in flight now (the adaptive window). */
  inFlightLimit(): number {
    return this.#controller.limit();
  }

  /** The backlog on disk: messages spooled and not yet read back, and the age of the oldest spooled one. */
  spoolBacklog(): { messages: number; oldestAgeMs: number } {
    return this.#view.spoolBacklog();
  }

  /** Bytes in the spool (the backlog on disk). */
  backlogBytes(): number {
    return this.#handoff.spool.bytes();
  }

  /** Receive time of the oldest message not yet acknowledged by SQS (undefined when there is none). */
  oldestUndeliveredMs(): number | undefined {
    return this.#view.oldestUndeliveredMs();
  }

  /** Everything accepted before the returned time is acknowledged by SQS or stored durably (BacklogView). */
  durableThroughMs(): number {
    return this.#view.durableThroughMs();
  }

  /** Since when new events are refused because the backlog is at its bound (undefined: not now). */
  overflowingSinceMs(): number | undefined {
    return this.#bound.overflowingSinceMs();
  }

  async drain(deadlineMs: number): Promise<{ drained: boolean; remaining: number }> {
    this.release();
    this.#schedulePump();
    if (this.depth() > 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#drainWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, deadlineMs - this.#now()));
        this.#drainWaiters.add(done);
      });
    }
    await this.#deadLetters.settled(deadlineMs);
    const remaining = this.depth();
    return { drained: remaining === 0, remaining };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pumpTiming.stop();
    await Promise.allSettled([...this.#inFlight]);
    await this.#deadLetters.close(DEAD_LETTER_CLOSE_GRACE_MS);
    const undelivered = this.#buffer.takeAll();
    this.#handoff.persist(undelivered);
    this.#handoff.close();
    if (undelivered.length > 0) {
      this.#log.warn("sink closed with undelivered messages kept in the spool", {
        code: "sink_closed_undelivered",
        entries: this.depth(),
      });
    }
    for (const done of [...this.#drainWaiters]) done();
  }

  // ---- accepting ----------------------------------------------------------------------------------

  #accept(entry: Entry): void {
    const failing = this.#backoff.failing();
    const mustSpill =
      this.#closed || this.#held || this.#handoff.spilling() || failing || this.#buffer.full();
    if (mustSpill) {
      if (this.#bound.refuses(entry, this.#handoff.spool.bytes())) return;
      const reason = failing ? "sqs_failing" : this.#held ? "adopting_backlog" : "memory_full";
      if (this.#handoff.spill(entry.sqs.fields.MessageBody, entry.submittedAtMs, reason, this.#closed)) {
        this.#gauges();
        return;
      }
      // Disk trouble: keep it in memory over the limit rather than lose it.
    }
    this.#buffer.add(entry);
  }

  // ---- sending ------------------------------------------------------------------------------------

  #schedulePump(): void {
    this.#pumpTiming.soon();
  }

  #pump(): void {
    if (this.#closed) return;
    this.#lastPumpMs = this.#now();
    const failing = this.#backoff.failing();
    if (this.#evictPending && failing) this.#evictToSpool();
    else this.#evictPending = false;
    if (this.#held) return;
    const pausedUntilMs = this.#backoff.pausedUntilMs();
    if (pausedUntilMs > this.#now()) {
      this.#pumpTiming.at(pausedUntilMs);
      return;
    }
    this.#handoff.refill(
      this.#buffer,
      failing,
      (msg, segment, line) => this.#entries.make(msg, segment, line),
      (line) =>
        this.#deadLetters.line(line, {
          code: "spool_line_invalid",
          message: "spool line is not a queued message",
        }),
    );
    const now = this.#now();
    const path = this.#sendPath;
    const room = (): boolean => path.inFlight() + path.staged() < this.#controller.limit();
    while (room()) {
      const batch = this.#buffer.takeBatch(
        this.#o.maxBatchBytes,
        (lane, head) => this.#track(path.offload(lane, head)),
        now,
      );
      if (batch.length === 0) break;
      this.#track(path.send(batch));
    }
    // No lane is ready and the window has room: prepare the next batch of lanes in flight, written the moment
    // their batch is answered (a hot topic's rate is one batch per round trip).
    while (room()) {
      const batch = this.#buffer.takeStaged(this.#o.maxBatchBytes);
      if (batch.length === 0) break;
      this.#track(path.stage(batch));
    }
    const laneWakeMs = this.#buffer.nextWakeMs();
    if (laneWakeMs !== undefined) this.#pumpTiming.at(laneWakeMs);
    this.#gauges();
    this.#notifyIfIdle();
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => {
      this.#inFlight.delete(p);
      if (this.#backoff.failing()) this.#evictPending = true;
      this.#notifyIfIdle();
      this.#schedulePump();
    });
  }

  #failed(what: string, code: string): void {
    this.#backoff.failed(what, code);
    this.#evictPending = true;
  }

  /**
   * Durable backlog: while SQS fails, what waits in memory and exists nowhere durable is written (with
   * everything else idle in memory, to keep the order) in front of the mirrored spool.
   */
  #evictToSpool(): void {
    if (!this.#view.durableTier()) {
      this.#evictPending = false;
      return;
    }
    // Rewriting the spool's head deletes the segments read so far: wait until no batch holding lines of them
    // is in flight, or those lines would exist in memory only.
    if (this.#inFlight.size > 0) return;
    this.#evictPending = false;
    // Lines read from the spool are on disk (and stored soon): only what exists in memory alone must move.
    if (!this.#buffer.hasIdle((e) => e.segment === undefined)) return;
    const idle = this.#buffer.takeIdle();
    if (idle.length === 0) return;
    if (this.#handoff.persist(idle)) return;
    for (const e of idle) this.#buffer.add(e); // disk trouble: keep them in memory rather than lose them
  }

  #gauges(): void {
    this.#metrics.gauge("BufferDepth", this.depth());
  }

  #notifyIfIdle(): void {
    if (this.depth() === 0 && this.#sendPath.inFlight() === 0) {
      for (const done of [...this.#drainWaiters]) done();
    }
  }
}
