/**
 * SQS sink (DESIGN.md section 4): batches of up to 10 entries within the byte limit, several batches in
 * flight, per-entry retry of Failed[], full-jitter backoff on throttling/5xx/network, never drops.
 *
 * Order: entries are kept per FIFO group (= topic). A group has at most one batch in flight; its later
 * entries wait until the earlier ones are acknowledged or dead-lettered, so retries never overtake.
 * (Several entries of one group may share a batch; SQS enqueues a batch's entries in order. If SQS
 * accepted a later entry of a group while failing an earlier one of the same batch, the retried earlier
 * entry lands after it: the only case where order can bend, and it is logged as `order_bent`.)
 * Standard queues have no groups: entries are spread over as many lanes as batches may be in flight.
 *
 * Concurrency: how many SendMessageBatch calls are in flight adapts to what SQS answers (an AIMD controller,
 * inflight-controller.ts, between `inFlight.min` and `inFlight.max`): it ramps up while round trips are
 * prompt and the sink uses its window, halves on throttling. Which entries make a batch is the lane
 * scheduler's (group-scheduler.ts through entry-buffer.ts): one batch per group, batches filled across groups.
 *
 * Memory is bounded (entry-buffer.ts); beyond it, and while SQS fails, messages go to the spool
 * (spool-handoff.ts). With a durable backlog (worker/backlog) the spool's segments are mirrored to S3, what
 * memory holds is written to the spool as soon as SQS fails, and `durableThroughMs` tells the coverage
 * ledger up to when everything accepted would survive the task. Oversized events: offloader.ts; messages
 * SQS can never take: dead-letter.ts.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { QueuedGapMessage, QueuedMessage } from "../../shared/contracts.ts";
import { type BackoffOptions, FullJitterBackoff } from "../core/backoff.ts";
import type { EventSink } from "../core/event-sink.ts";
import { messageBody, toSqsEntry } from "../core/message.ts";
import { type BatchOutcome, sendBatch } from "./batch-sender.ts";
import { DeadLetterPath } from "./dead-letter.ts";
import { type Entry, EntryBuffer, type Lane } from "./entry-buffer.ts";
import {
  DEFAULT_INFLIGHT_MAX,
  DEFAULT_INFLIGHT_MIN,
  InflightController,
  type InflightLimits,
} from "./inflight-controller.ts";
import { invalidMessage } from "./message-check.ts";
import { Offloader } from "./offloader.ts";
import { errorCode } from "./send-errors.ts";
import {
  type DeadLetterEntry,
  type DeadLetterError,
  NO_METRICS,
  SILENT_LOGGER,
  type SinkLogger,
  type SinkMetrics,
} from "./sink-ports.ts";
import type { Spool } from "./spool.ts";
import { SpoolHandoff } from "./spool-handoff.ts";

export { DEAD_LETTER_FILE } from "./dead-letter.ts";
export { ENTRY_OVERHEAD_BYTES } from "./entry-buffer.ts";
export { invalidMessage } from "./message-check.ts";
export type { DeadLetterEntry, DeadLetterError, SinkLogger, SinkMetrics } from "./sink-ports.ts";

/** SQS's message (and batch) size limit since 2025; the CDK queue sets MaximumMessageSize to it explicitly. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** Most SendMessageBatch requests in flight at once by default (FIFO: at most one per message group). */
export const DEFAULT_MAX_IN_FLIGHT_BATCHES = DEFAULT_INFLIGHT_MAX;
/** Error codes that mean SQS wants fewer requests, not that something is broken. */
const THROTTLED = /throttl|overlimit|requestlimit|slowdown|toomanyrequests/i;

/** What the durable backlog (worker/backlog/backlog-mirror.ts) tells the sink. */
export interface DurableTier {
  /** The spool segment is stored durably (S3). */
  isDurable(segment: number): boolean;
  /** Earliest receive time of a spooled line not yet stored durably (undefined: none). */
  oldestPendingMs(): number | undefined;
}

export interface SqsSinkOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Default: the queue URL ends in `.fifo`. */
  fifo?: boolean;
  /** Bounds of the adaptive in-flight window. Default: DEFAULT_INFLIGHT_MIN to DEFAULT_INFLIGHT_MAX. */
  inFlight?: InflightLimits;
  /** A fixed number of batches in flight (min = max), when `inFlight` is not given. */
  maxInFlightBatches?: number;
  /** Entries held in memory (queued + in flight) before new ones spill to the spool. Default 10,000. */
  memoryLimit?: number;
  /**
   * Bytes held in memory (queued + in flight; SQS size + ENTRY_OVERHEAD_BYTES per entry) before new ones
   * spill to the spool. Default 16 MiB: about 10k typical events, or 64 of SQS's largest.
   */
  memoryLimitBytes?: number;
  spoolDir: string;
  /** Roll spool segments after this many lines (the durable backlog uploads whole segments). */
  spoolSegmentLines?: number;
  /** Called with the name of every spool segment deleted. */
  onSegmentRemoved?: (name: string) => void;
  /**
   * Backlog bound: while the spool holds this many bytes, new events are refused (counted as
   * `BacklogOverflow`, logged) and `overflowingSinceMs` reports it, so the coverage ledger records the
   * interval as a gap. Gap messages are always taken. Default: unbounded.
   */
  maxBacklogBytes?: number;
  s3?: S3Client;
  offloadBucket?: string;
  /** Object key prefix for offloaded events. */
  offloadPrefix?: string;
  onDeadLetter?: (entry: DeadLetterEntry, error: DeadLetterError) => void;
  metrics?: SinkMetrics;
  logger?: SinkLogger;
  now?: () => number;
  random?: () => number;
  /** SQS limits (lower them in tests; raise to 1 MiB for queues configured so). */
  maxMessageBytes?: number;
  maxBatchBytes?: number;
  /** Abort a SendMessageBatch/PutObject that takes longer than this. */
  requestTimeoutMs?: number;
  /** Backoff between failed attempts; default base 100 ms, cap 5 s, reset after 5 s of success. */
  retry?: BackoffOptions;
}

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
  readonly #backoff: FullJitterBackoff;
  readonly #handoff: SpoolHandoff;
  readonly #buffer: EntryBuffer;
  readonly #deadLetters: DeadLetterPath;
  readonly #offloader: Offloader;
  readonly #controller: InflightController;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #drainWaiters = new Set<() => void>();
  #durable: DurableTier | undefined;
  #seq = 0;
  #laneRobin = 0;
  #inFlightBatches = 0;
  #failing = false;
  #evictPending = false;
  #held = false;
  #overflowingSinceMs: number | undefined;
  #pausedUntilMs = 0;
  #pauseTimer: NodeJS.Timeout | undefined;
  #pumpScheduled: NodeJS.Immediate | undefined;
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
    this.#backoff = new FullJitterBackoff(
      { baseMs: 100, capMs: 5_000, resetAfterStableMs: 5_000, ...opts.retry },
      opts.random,
      this.#now,
    );
    this.#buffer = new EntryBuffer(opts.memoryLimit ?? 10_000, opts.memoryLimitBytes ?? 16 * 1024 * 1024);
    this.#deadLetters = new DeadLetterPath(
      opts.spoolDir,
      this.#log,
      this.#metrics,
      this.#now,
      opts.onDeadLetter,
    );
    this.#offloader = new Offloader({
      s3: opts.s3,
      bucket: opts.offloadBucket,
      prefix: opts.offloadPrefix,
      requestTimeoutMs: this.#o.requestTimeoutMs,
      maxMessageBytes: this.#o.maxMessageBytes,
    });
    this.#handoff = new SpoolHandoff(
      opts.spoolDir,
      { maxSegmentLines: opts.spoolSegmentLines, onRemoved: opts.onSegmentRemoved, now: this.#now },
      this.#log,
    );
    this.#schedulePump();
  }

  /** The spool, for the durable backlog that mirrors it. */
  get spool(): Spool {
    return this.#handoff.spool;
  }

  /** Connects the durable backlog: from now on a failing SQS makes memory go to the (mirrored) spool. */
  attachDurableTier(tier: DurableTier): void {
    this.#durable = tier;
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
      for (const part of this.#fitGap(msg)) this.#accept(this.#makeEntry(part, undefined));
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
    return !this.#closed && !this.#failing;
  }

  /** Process liveness of the sink: open, and its pump ran recently or has nothing to do. */
  alive(maxIdleMs: number): boolean {
    if (this.#closed) return false;
    if (this.depth() === 0 || this.#pausedUntilMs > this.#now() || this.#held) return true;
    return this.#now() - this.#lastPumpMs <= maxIdleMs;
  }

  /** Batches the sink may have in flight now (the adaptive window). */
  inFlightLimit(): number {
    return this.#controller.limit();
  }

  /** The backlog on disk: messages spooled and not yet read back, and the age of the oldest spooled one. */
  spoolBacklog(): { messages: number; oldestAgeMs: number } {
    const messages = this.#handoff.unread();
    let oldest: number | undefined;
    for (const s of this.#handoff.spool.segments()) {
      if (Number.isFinite(s.oldestMs) && (oldest === undefined || s.oldestMs < oldest)) oldest = s.oldestMs;
    }
    const oldestAgeMs = messages > 0 && oldest !== undefined ? Math.max(0, this.#now() - oldest) : 0;
    return { messages, oldestAgeMs };
  }

  /** Bytes in the spool (the backlog on disk). */
  backlogBytes(): number {
    return this.#handoff.spool.bytes();
  }

  /** Receive time of the oldest message not yet acknowledged by SQS (undefined when there is none). */
  oldestUndeliveredMs(): number | undefined {
    const mem = this.#buffer.oldestSubmittedAtMs();
    let oldest = mem;
    for (const s of this.#handoff.spool.segments()) {
      if (Number.isFinite(s.oldestMs) && (oldest === undefined || s.oldestMs < oldest)) oldest = s.oldestMs;
    }
    return oldest;
  }

  /**
   * Everything accepted before the returned time is acknowledged by SQS or stored durably: the oldest
   * accepted message that would be lost with the task bounds it (now when there is none). Without a
   * durable tier the spool counts as durable (a persistent local disk).
   */
  durableThroughMs(): number {
    const now = this.#now();
    const tier = this.#durable;
    const mem = this.#buffer.oldestSubmittedAtMs(
      (e) => e.segment === undefined || (tier !== undefined && !tier.isDurable(e.segment)),
    );
    const pending = tier?.oldestPendingMs();
    return Math.min(now, mem ?? now, pending ?? now);
  }

  /** Since when new events are refused because the backlog is at its bound (undefined: not now). */
  overflowingSinceMs(): number | undefined {
    return this.#overflowingSinceMs;
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
    const remaining = this.depth();
    return { drained: remaining === 0, remaining };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    if (this.#pumpScheduled) clearImmediate(this.#pumpScheduled);
    this.#pauseTimer = undefined;
    this.#pumpScheduled = undefined;
    await Promise.allSettled([...this.#inFlight]);
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

  #makeEntry(msg: QueuedMessage, segment: number | undefined, body?: string): Entry {
    const seq = this.#seq++;
    const sqs = toSqsEntry(msg, { id: "0", fifo: this.fifo, body: body ?? messageBody(msg) });
    const laneKey = this.fifo
      ? sqs.fields.MessageGroupId!
      : `lane-${this.#laneRobin++ % this.#controller.max}`;
    return {
      seq,
      kind: msg.kind,
      sqs,
      laneKey,
      submittedAtMs: this.#now(),
      oversized: sqs.sizeBytes > this.#o.maxMessageBytes,
      solo: false,
      segment,
    };
  }

  /** A gap message too large for SQS becomes several, each listing a share of the topics. */
  #fitGap(msg: QueuedMessage): QueuedMessage[] {
    if (msg.kind !== "gap" || msg.topics.length < 2) return [msg];
    const size = toSqsEntry(msg, { id: "0", fifo: this.fifo }).sizeBytes;
    if (size <= this.#o.maxMessageBytes) return [msg];
    const half = Math.ceil(msg.topics.length / 2);
    const part = (topics: string[]): QueuedGapMessage => ({ ...msg, topics });
    return [...this.#fitGap(part(msg.topics.slice(0, half))), ...this.#fitGap(part(msg.topics.slice(half)))];
  }

  #accept(entry: Entry): void {
    const mustSpill =
      this.#closed || this.#held || this.#handoff.spilling() || this.#failing || this.#buffer.full();
    if (mustSpill) {
      if (this.#overBound(entry)) return;
      const reason = this.#failing ? "sqs_failing" : this.#held ? "adopting_backlog" : "memory_full";
      if (this.#handoff.spill(entry.sqs.fields.MessageBody, entry.submittedAtMs, reason, this.#closed)) {
        this.#gauges();
        return;
      }
      // Disk trouble: keep it in memory over the limit rather than lose it.
    }
    this.#buffer.add(entry);
  }

  /** True when the backlog is at its bound and `entry` (an event) is refused: the coverage gap covers it. */
  #overBound(entry: Entry): boolean {
    const max = this.#o.maxBacklogBytes;
    if (max === undefined || entry.kind === "gap") return false;
    if (this.#handoff.spool.bytes() < max) {
      if (this.#overflowingSinceMs !== undefined) {
        this.#log.info("backlog below its bound again; accepting events", { code: "backlog_overflow_ended" });
        this.#overflowingSinceMs = undefined;
      }
      return false;
    }
    if (this.#overflowingSinceMs === undefined) {
      this.#overflowingSinceMs = entry.submittedAtMs;
      this.#log.error("backlog at its bound: refusing new events, recorded as a coverage gap", {
        code: "backlog_overflow",
        alarm: true,
        maxBacklogBytes: max,
      });
    }
    this.#metrics.count("BacklogOverflow");
    return true;
  }

  // ---- sending ------------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#closed) return;
    this.#pumpScheduled = setImmediate(() => {
      this.#pumpScheduled = undefined;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#closed) return;
    this.#lastPumpMs = this.#now();
    if (this.#evictPending && this.#failing) this.#evictToSpool();
    if (this.#held) return;
    const waitMs = this.#pausedUntilMs - this.#now();
    if (waitMs > 0) {
      if (!this.#pauseTimer) {
        this.#pauseTimer = setTimeout(() => {
          this.#pauseTimer = undefined;
          this.#pump();
        }, waitMs);
      }
      return;
    }
    this.#handoff.refill(
      this.#buffer,
      this.#failing,
      (msg, segment, line) => this.#makeEntry(msg, segment, line),
      (line) => {
        this.#log.error("unreadable spool line dead-lettered", { code: "spool_line_invalid" });
        this.#deadLetters.raw(line, {
          code: "spool_line_invalid",
          message: "spool line is not a queued message",
        });
      },
    );
    while (this.#inFlightBatches < this.#controller.limit()) {
      const batch = this.#buffer.takeBatch(this.#o.maxBatchBytes, (lane, head) =>
        this.#track(this.#offload(lane, head)),
      );
      if (batch.length === 0) break;
      this.#track(this.#send(batch));
    }
    this.#gauges();
    this.#notifyIfIdle();
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => {
      this.#inFlight.delete(p);
      this.#schedulePump();
    });
  }

  async #send(batch: Entry[]): Promise<void> {
    this.#inFlightBatches++;
    const sentAtMs = this.#now();
    let outcome: BatchOutcome;
    try {
      outcome = await sendBatch(
        { sqs: this.#o.sqs, queueUrl: this.#o.queueUrl, requestTimeoutMs: this.#o.requestTimeoutMs },
        batch,
      );
    } finally {
      this.#inFlightBatches--;
    }
    this.#controller.record({
      outcome:
        outcome.retryCode === undefined || outcome.split
          ? "ok"
          : THROTTLED.test(outcome.retryCode)
            ? "throttled"
            : "failed",
      latencyMs: this.#now() - sentAtMs,
      inFlight: this.#inFlightBatches + 1,
    });
    this.#apply(outcome);
    this.#buffer.release(batch);
    if (this.#failing) this.#evictPending = true;
    this.#notifyIfIdle();
  }

  #apply(outcome: BatchOutcome): void {
    for (const group of outcome.orderBentGroups) {
      this.#log.warn("a later entry of a group was accepted before an earlier one being retried", {
        code: "order_bent",
        group,
      });
    }
    for (const e of outcome.delivered) this.#delivered(e);
    for (const { entry, error } of outcome.rejected) this.#reject(entry, error);
    if (outcome.split) {
      this.#log.warn("batch rejected as a whole; sending its entries one by one", {
        code: "batch_split",
        error: outcome.retryCode,
      });
      return;
    }
    if (outcome.retryCode !== undefined) this.#failed(outcome.retryWhat ?? "batch_failed", outcome.retryCode);
    else if (outcome.delivered.length > 0 || outcome.rejected.length > 0) this.#succeeded();
  }

  async #offload(lane: Lane, entry: Entry): Promise<void> {
    try {
      const msg = JSON.parse(entry.sqs.fields.MessageBody) as QueuedMessage;
      const outcome = await this.#offloader.offload(msg, entry.sqs.sizeBytes, entry.seq);
      if (outcome.kind === "reject") {
        this.#reject(entry, outcome.error);
        return;
      }
      if (outcome.kind === "retry") {
        this.#failed("offload_failed", outcome.code);
        return;
      }
      this.#log.info("oversized event stored in S3; pointer queued", {
        code: "event_offloaded",
        key: outcome.pointer.key,
        sizeBytes: entry.sqs.sizeBytes,
      });
      const replacement = this.#makeEntry(outcome.pointer, entry.segment, undefined);
      replacement.seq = entry.seq;
      replacement.laneKey = entry.laneKey;
      replacement.submittedAtMs = entry.submittedAtMs;
      this.#buffer.replace(entry, replacement);
    } finally {
      this.#buffer.settle(lane);
    }
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  #delivered(e: Entry): void {
    this.#remove(e);
    if (e.kind !== "gap") this.#metrics.count("EventsOut");
    this.#metrics.timing("SinkLatencyMs", this.#now() - e.submittedAtMs);
  }

  #reject(e: Entry, error: DeadLetterError): void {
    this.#remove(e);
    this.#deadLetters.message(JSON.parse(e.sqs.fields.MessageBody) as QueuedMessage, e.sqs.sizeBytes, error);
  }

  #remove(e: Entry): void {
    if (this.#buffer.remove(e)) this.#handoff.settle(e.segment);
  }

  #failed(what: string, code: string): void {
    const delay = this.#backoff.nextDelayMs();
    this.#pausedUntilMs = Math.max(this.#pausedUntilMs, this.#now() + delay);
    if (!this.#failing) {
      this.#log.warn("SQS delivery failing; backing off and spooling new messages", {
        code: what,
        error: code,
      });
    } else {
      this.#log.debug("SQS delivery still failing", { code: what, error: code, delayMs: delay });
    }
    this.#failing = true;
    this.#evictPending = true;
  }

  /**
   * Durable backlog: while SQS fails, what waits in memory and exists nowhere durable is written (with
   * everything else idle in memory, to keep the order) in front of the mirrored spool.
   */
  #evictToSpool(): void {
    this.#evictPending = false;
    const tier = this.#durable;
    if (!tier) return;
    if (!this.#buffer.hasIdle((e) => e.segment === undefined || !tier.isDurable(e.segment))) return;
    const idle = this.#buffer.takeIdle();
    if (idle.length === 0) return;
    if (this.#handoff.persist(idle)) return;
    for (const e of idle) this.#buffer.add(e); // disk trouble: keep them in memory rather than lose them
  }

  #succeeded(): void {
    if (this.#failing) {
      this.#failing = false;
      this.#backoff.connected();
      this.#log.info("SQS delivery recovered", { code: "sqs_recovered", depth: this.depth() });
    }
  }

  #gauges(): void {
    this.#metrics.gauge("BufferDepth", this.depth());
  }

  #notifyIfIdle(): void {
    if (this.depth() === 0 && this.#inFlightBatches === 0) {
      for (const done of [...this.#drainWaiters]) done();
    }
  }
}
