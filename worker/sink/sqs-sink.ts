/**
 * SQS sink (DESIGN.md section 4): batches of up to 10 entries within the byte limit, several batches in
 * flight, per-entry retry of Failed[], full-jitter backoff on throttling/5xx/network, never drops.
 *
 * Order: entries are kept per FIFO group (= topic). A group has at most one batch in flight; its later
 * entries wait until the earlier ones are acknowledged or dead-lettered, so retries never overtake.
 * (Several entries of one group may share a batch; SQS enqueues a batch's entries in order. If SQS
 * accepted a later entry of a group while failing an earlier one of the same batch, the retried earlier
 * entry lands after it: the only case where order can bend, and it is logged as `order_bent`.)
 * Standard queues have no groups: entries are spread over `maxInFlightBatches` lanes.
 *
 * Memory is bounded twice: at most `memoryLimit` entries and at most `memoryLimitBytes` (each entry counted
 * as its SQS size plus ENTRY_OVERHEAD_BYTES; an entry keeps only its SQS body and ids, not the parsed
 * message). When either is reached, or while SQS fails, new messages go to an append-only spool on disk;
 * once anything is spooled, everything newer is spooled behind it until the reader has caught up, so the
 * spool drains in order. A spool left by a crashed process is read first. So memory stays bounded whatever
 * the backlog; the backlog itself is bounded only by the disk.
 *
 * Too large for one SQS message: gap messages are split by topics (each part complete for its topics);
 * events go whole to S3 with a pointer message in their place, or, without a bucket, to the dead-letter
 * path (`dead-letter.jsonl` in the spool directory, `onDeadLetter`, log code `event_too_large`, metric).
 */

import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, type SendMessageBatchResult, type SQSClient } from "@aws-sdk/client-sqs";
import type { QueuedEventMessage, QueuedGapMessage, QueuedMessage } from "../../shared/contracts.ts";
import { type BackoffOptions, FullJitterBackoff } from "../core/backoff.ts";
import type { EventSink } from "../core/event-sink.ts";
import { messageBody, pointerMessage, type SqsEntry, toSqsEntry } from "../core/message.ts";
import type { CounterName, GaugeName, TimingName } from "../telemetry.ts";
import { classifyBatchError, classifyFailedEntry, errorCode } from "./send-errors.ts";
import { Spool } from "./spool.ts";

/** SQS's message (and batch) size limit since 2025; the CDK queue sets MaximumMessageSize to it explicitly. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** SendMessageBatch requests in flight at once (FIFO: at most one per message group). */
export const DEFAULT_MAX_IN_FLIGHT_BATCHES = 4;
/** Heap an entry costs beyond its SQS size (entry, fields and strings' headers), for the memory bound. */
export const ENTRY_OVERHEAD_BYTES = 512;
export const DEAD_LETTER_FILE = "dead-letter.jsonl";

export interface SinkMetrics {
  count(name: CounterName, n?: number): void;
  gauge(name: GaugeName, value: number): void;
  timing(name: TimingName, ms: number): void;
}

export interface SinkLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface DeadLetterEntry {
  message: QueuedMessage;
  sizeBytes: number;
}

export interface DeadLetterError {
  code: string;
  message: string;
}

export interface SqsSinkOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Default: the queue URL ends in `.fifo`. */
  fifo?: boolean;
  maxInFlightBatches?: number;
  /** Entries held in memory (queued + in flight) before new ones spill to the spool. Default 10,000. */
  memoryLimit?: number;
  /**
   * Bytes held in memory (queued + in flight; SQS size + ENTRY_OVERHEAD_BYTES per entry) before new ones
   * spill to the spool. Default 16 MiB: about 10k typical events, or 64 of SQS's largest.
   */
  memoryLimitBytes?: number;
  spoolDir: string;
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

interface Entry {
  seq: number;
  kind: QueuedMessage["kind"];
  sqs: SqsEntry;
  laneKey: string;
  submittedAtMs: number;
  oversized: boolean;
  /** Send alone (after a batch-level "split" error). */
  solo: boolean;
  /** Spool segment the entry was read from, to settle once delivered. */
  segment?: number;
}

interface Lane {
  key: string;
  entries: Entry[];
  busy: boolean;
}

const noop = (): void => {};
const SILENT: SinkLogger = { debug: noop, info: noop, warn: noop, error: noop };
const NO_METRICS: SinkMetrics = { count: noop, gauge: noop, timing: noop };
const MESSAGE_KINDS = new Set(["event", "event-pointer", "gap"]);
const REFILL_STEP = 64;

export class SqsSink implements EventSink {
  readonly fifo: boolean;
  readonly #o: Required<
    Pick<
      SqsSinkOptions,
      | "maxInFlightBatches"
      | "memoryLimit"
      | "memoryLimitBytes"
      | "maxMessageBytes"
      | "maxBatchBytes"
      | "requestTimeoutMs"
    >
  > &
    SqsSinkOptions;
  readonly #now: () => number;
  readonly #log: SinkLogger;
  readonly #metrics: SinkMetrics;
  readonly #backoff: FullJitterBackoff;
  readonly #spool: Spool;
  readonly #lanes = new Map<string, Lane>();
  /** Lanes with entries and nothing in flight, in the order they became ready. */
  readonly #ready = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #drainWaiters = new Set<() => void>();
  #memoryCount = 0;
  #memoryBytes = 0;
  #seq = 0;
  #laneRobin = 0;
  #inFlightBatches = 0;
  #spilling: boolean;
  #failing = false;
  #pausedUntilMs = 0;
  #pauseTimer: NodeJS.Timeout | undefined;
  #pumpScheduled: NodeJS.Immediate | undefined;
  #closed = false;

  constructor(opts: SqsSinkOptions) {
    this.#o = {
      maxInFlightBatches: DEFAULT_MAX_IN_FLIGHT_BATCHES,
      memoryLimit: 10_000,
      memoryLimitBytes: 16 * 1024 * 1024,
      maxMessageBytes: SQS_MAX_MESSAGE_BYTES,
      maxBatchBytes: SQS_MAX_MESSAGE_BYTES,
      requestTimeoutMs: 10_000,
      ...opts,
    };
    this.fifo = opts.fifo ?? opts.queueUrl.endsWith(".fifo");
    this.#now = opts.now ?? Date.now;
    this.#log = opts.logger ?? SILENT;
    this.#metrics = opts.metrics ?? NO_METRICS;
    this.#backoff = new FullJitterBackoff(
      { baseMs: 100, capMs: 5_000, resetAfterStableMs: 5_000, ...opts.retry },
      opts.random,
      this.#now,
    );
    this.#spool = new Spool(opts.spoolDir);
    this.#spilling = this.#spool.unread() > 0;
    if (this.#spilling) {
      this.#log.info("replaying spool left by a previous run", {
        code: "spool_replay",
        entries: this.#spool.unread(),
      });
    }
    this.#schedulePump();
  }

  submit(msg: QueuedMessage): void {
    try {
      const problem = invalidMessage(msg);
      if (problem) {
        this.#deadLetter(msg, 0, { code: "invalid_message", message: problem });
        return;
      }
      for (const part of this.#fitGap(msg)) this.#accept(this.#makeEntry(part, undefined));
    } catch (err) {
      // Unreachable in practice (bad input is handled in #makeEntry); still never throw to the caller.
      this.#log.error("sink could not accept a message", {
        code: "sink_submit_failed",
        error: errorCode(err),
      });
      this.#deadLetter(msg, 0, {
        code: "sink_submit_failed",
        message: String((err as Error)?.message ?? err),
      });
    }
    this.#schedulePump();
  }

  depth(): number {
    return this.#memoryCount + this.#spool.unread();
  }

  healthy(): boolean {
    return !this.#closed && !this.#failing;
  }

  async drain(deadlineMs: number): Promise<{ drained: boolean; remaining: number }> {
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
    const undelivered = [...this.#lanes.values()].flatMap((l) => l.entries).sort((a, b) => a.seq - b.seq);
    try {
      this.#spool.persistHead(undelivered.map((e) => e.sqs.fields.MessageBody));
      this.#lanes.clear();
      this.#ready.clear();
      this.#memoryCount = 0;
      this.#memoryBytes = 0;
    } catch (err) {
      this.#log.error("could not persist undelivered messages to the spool", {
        code: "spool_write_failed",
        error: errorCode(err),
        entries: undelivered.length,
      });
    }
    this.#spool.close();
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
      : `lane-${this.#laneRobin++ % this.#o.maxInFlightBatches}`;
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

  #memoryFull(): boolean {
    return this.#memoryCount >= this.#o.memoryLimit || this.#memoryBytes >= this.#o.memoryLimitBytes;
  }

  #accept(entry: Entry): void {
    const mustSpill = this.#closed || this.#spilling || this.#failing || this.#memoryFull();
    if (mustSpill) {
      try {
        this.#spool.append(entry.sqs.fields.MessageBody);
        if (!this.#spilling && !this.#closed) {
          this.#log.warn("spilling to the spool", {
            code: "spool_spill",
            reason: this.#failing ? "sqs_failing" : "memory_full",
          });
        }
        this.#spilling = true;
        this.#gauges();
        return;
      } catch (err) {
        // Disk trouble: keep it in memory over the limit rather than lose it.
        this.#log.error("spool write failed; keeping the message in memory", {
          code: "spool_write_failed",
          error: errorCode(err),
        });
      }
    }
    this.#enqueue(entry);
  }

  #enqueue(entry: Entry): void {
    let lane = this.#lanes.get(entry.laneKey);
    if (!lane) {
      lane = { key: entry.laneKey, entries: [], busy: false };
      this.#lanes.set(entry.laneKey, lane);
    }
    lane.entries.push(entry);
    this.#memoryCount++;
    this.#memoryBytes += entry.sqs.sizeBytes + ENTRY_OVERHEAD_BYTES;
    if (!lane.busy) this.#ready.add(lane.key);
  }

  /** Moves spooled lines into memory while there is room (and SQS works, or memory is empty: a probe). */
  #refillFromSpool(): void {
    if (this.#spool.unread() === 0) {
      if (this.#spilling) {
        this.#spool.sealTail();
        this.#spilling = false;
      }
      return;
    }
    if (this.#failing && this.#memoryCount > 0) return;
    // A few lines at a time, so the byte bound is checked as they come (the spool reads ahead on its own).
    while (!this.#memoryFull() && this.#spool.unread() > 0) {
      const lines = this.#spool.read(Math.min(REFILL_STEP, this.#o.memoryLimit - this.#memoryCount));
      if (lines.length === 0) break;
      for (const { line, segment } of lines) {
        const msg = parseSpooled(line);
        if (!msg) {
          this.#log.error("unreadable spool line dead-lettered", { code: "spool_line_invalid" });
          this.#deadLetterRaw(line, {
            code: "spool_line_invalid",
            message: "spool line is not a queued message",
          });
          this.#spool.settle(segment);
          continue;
        }
        this.#enqueue(this.#makeEntry(msg, segment, line));
      }
    }
    if (this.#spool.unread() === 0 && this.#spilling) {
      this.#spool.sealTail();
      this.#spilling = false;
    }
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
    this.#refillFromSpool();
    while (this.#inFlightBatches < this.#o.maxInFlightBatches) {
      const batch = this.#takeBatch();
      if (batch.length === 0) break;
      this.#track(this.#sendBatch(batch));
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

  /** Next batch: ready lanes in order, each contributing its oldest entries that fit. */
  #takeBatch(): Entry[] {
    const batch: Entry[] = [];
    let bytes = 0;
    for (const key of this.#ready) {
      if (batch.length >= 10) break;
      const lane = this.#lanes.get(key)!;
      const head = lane.entries[0];
      if (!head) {
        this.#ready.delete(key);
        continue;
      }
      if (head.oversized) {
        this.#ready.delete(key);
        lane.busy = true;
        this.#track(this.#offload(lane, head));
        continue;
      }
      if (head.solo && batch.length > 0) continue;
      let taken = 0;
      for (const e of lane.entries) {
        if (e.oversized || batch.length >= 10 || bytes + e.sqs.sizeBytes > this.#o.maxBatchBytes) break;
        if (e.solo && batch.length > 0) break;
        batch.push(e);
        bytes += e.sqs.sizeBytes;
        taken++;
        if (e.solo) break;
      }
      if (taken > 0) {
        lane.busy = true;
        this.#ready.delete(key);
      }
      if (batch.length > 0 && batch[batch.length - 1]!.solo) break;
    }
    return batch;
  }

  async #sendBatch(batch: Entry[]): Promise<void> {
    this.#inFlightBatches++;
    let result: SendMessageBatchResult | undefined;
    let failure: unknown;
    try {
      result = await this.#o.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.#o.queueUrl,
          Entries: batch.map((e, i) => ({ ...e.sqs.fields, Id: String(i) })),
        }),
        { abortSignal: AbortSignal.timeout(this.#o.requestTimeoutMs) },
      );
    } catch (err) {
      failure = err;
    } finally {
      this.#inFlightBatches--;
    }
    if (failure !== undefined || !result) {
      this.#onBatchError(batch, failure);
    } else {
      this.#onBatchResult(batch, result);
    }
    this.#releaseLanes(batch);
  }

  #onBatchResult(batch: Entry[], result: SendMessageBatchResult): void {
    const ok = new Set((result.Successful ?? []).map((s) => s.Id));
    const failed = new Map((result.Failed ?? []).map((f) => [f.Id, f]));
    let retry = false;
    let retryCode = "";
    const retried = new Set<string>();
    batch.forEach((e, i) => {
      const id = String(i);
      if (ok.has(id)) {
        if (retried.has(e.laneKey)) {
          this.#log.warn("a later entry of a group was accepted before an earlier one being retried", {
            code: "order_bent",
            group: e.laneKey,
          });
        }
        this.#delivered(e);
        return;
      }
      const f = failed.get(id);
      const verdict = f ? classifyFailedEntry(f) : { action: "retry" as const, code: "MissingFromResult" };
      if (verdict.action === "reject") {
        this.#removeEntry(e);
        this.#deadLetter(
          entryMessage(e),
          e.sqs.sizeBytes,
          { code: verdict.code, message: f?.Message ?? verdict.code },
          e,
        );
      } else {
        retry = true;
        retryCode = verdict.code;
        retried.add(e.laneKey);
      }
    });
    if (retry) {
      this.#failed("entries_failed", retryCode);
    } else {
      this.#succeeded();
    }
  }

  #onBatchError(batch: Entry[], err: unknown): void {
    const { action, code } = classifyBatchError(err);
    if ((action === "split" || action === "reject") && batch.length > 1) {
      this.#log.warn("batch rejected as a whole; sending its entries one by one", {
        code: "batch_split",
        error: code,
      });
      for (const e of batch) e.solo = true;
      return;
    }
    if (action === "split" || action === "reject") {
      const e = batch[0]!;
      this.#removeEntry(e);
      this.#deadLetter(entryMessage(e), e.sqs.sizeBytes, { code, message: messageOf(err) }, e);
      return;
    }
    this.#failed("batch_failed", code);
  }

  async #offload(lane: Lane, entry: Entry): Promise<void> {
    const msg = entryMessage(entry);
    try {
      if (msg.kind !== "event" || !this.#o.s3 || !this.#o.offloadBucket) {
        this.#removeEntry(entry);
        this.#deadLetter(
          msg,
          entry.sqs.sizeBytes,
          {
            code: "event_too_large",
            message: `message of ${entry.sqs.sizeBytes} bytes exceeds the SQS limit of ${this.#o.maxMessageBytes} bytes and no offload bucket is configured`,
          },
          entry,
        );
        return;
      }
      const objectKey = this.#objectKey(msg, entry);
      const body = JSON.stringify(msg);
      try {
        await this.#o.s3.send(
          new PutObjectCommand({
            Bucket: this.#o.offloadBucket,
            Key: objectKey,
            Body: body,
            ContentType: "application/json",
          }),
          { abortSignal: AbortSignal.timeout(this.#o.requestTimeoutMs) },
        );
      } catch (err) {
        this.#failed("offload_failed", errorCode(err));
        return;
      }
      const pointer = pointerMessage(msg, {
        bucket: this.#o.offloadBucket,
        objectKey,
        sizeBytes: Buffer.byteLength(body, "utf8"),
      });
      this.#log.info("oversized event stored in S3; pointer queued", {
        code: "event_offloaded",
        key: msg.key,
        sizeBytes: entry.sqs.sizeBytes,
      });
      const replacement = this.#makeEntry(pointer, entry.segment, undefined);
      replacement.seq = entry.seq;
      replacement.laneKey = entry.laneKey;
      replacement.submittedAtMs = entry.submittedAtMs;
      const i = lane.entries.indexOf(entry);
      if (i >= 0) {
        lane.entries[i] = replacement;
        this.#memoryBytes += replacement.sqs.sizeBytes - entry.sqs.sizeBytes;
      }
    } finally {
      lane.busy = false;
      this.#laneSettled(lane);
    }
  }

  #objectKey(msg: QueuedEventMessage, entry: Entry): string {
    const day = msg.receivedAt.slice(0, 10);
    const prefix = (this.#o.offloadPrefix ?? "tokenstream/oversized").replace(/\/+$/, "");
    return `${prefix}/${day}/${msg.key || `seq-${entry.seq}`}.json`;
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  #delivered(e: Entry): void {
    this.#removeEntry(e);
    if (e.kind !== "gap") this.#metrics.count("EventsOut");
    this.#metrics.timing("SinkLatencyMs", this.#now() - e.submittedAtMs);
  }

  #removeEntry(e: Entry): void {
    const lane = this.#lanes.get(e.laneKey);
    if (!lane) return;
    const i = lane.entries.indexOf(e);
    if (i < 0) return;
    lane.entries.splice(i, 1);
    this.#memoryCount--;
    this.#memoryBytes -= e.sqs.sizeBytes + ENTRY_OVERHEAD_BYTES;
    if (e.segment !== undefined) this.#spool.settle(e.segment);
  }

  #releaseLanes(batch: Entry[]): void {
    for (const key of new Set(batch.map((e) => e.laneKey))) {
      const lane = this.#lanes.get(key);
      if (!lane) continue;
      lane.busy = false;
      this.#laneSettled(lane);
    }
    this.#notifyIfIdle();
  }

  #laneSettled(lane: Lane): void {
    if (lane.busy) return;
    if (lane.entries.length === 0) {
      this.#lanes.delete(lane.key);
      this.#ready.delete(lane.key);
    } else {
      this.#ready.add(lane.key);
    }
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
  }

  #succeeded(): void {
    if (this.#failing) {
      this.#failing = false;
      this.#backoff.connected();
      this.#log.info("SQS delivery recovered", { code: "sqs_recovered", depth: this.depth() });
    }
  }

  #deadLetter(msg: QueuedMessage, sizeBytes: number, error: DeadLetterError, _entry?: Entry): void {
    this.#metrics.count("DeadLettered");
    const m = (msg ?? {}) as unknown as Partial<Record<string, unknown>>;
    const event = m.event as { topicName?: unknown } | undefined;
    this.#log.error("message routed to the dead-letter path", {
      code: error.code,
      kind: m.kind,
      key: m.key,
      topic: event?.topicName ?? m.topicName,
      sizeBytes,
      reason: error.message,
    });
    let body: string;
    try {
      body = messageBody(msg);
    } catch {
      body = JSON.stringify({ unserializable: true, kind: String(m.kind) });
    }
    this.#deadLetterRaw(body, error);
    try {
      this.#o.onDeadLetter?.({ message: msg, sizeBytes }, error);
    } catch (err) {
      this.#log.error("onDeadLetter callback threw", {
        code: "dead_letter_callback_failed",
        error: errorCode(err),
      });
    }
  }

  /** The dead-letter file keeps the whole message for an operator: nothing rejected is lost. */
  #deadLetterRaw(body: string, error: DeadLetterError): void {
    try {
      appendFileSync(
        join(this.#o.spoolDir, DEAD_LETTER_FILE),
        `{"at":${JSON.stringify(new Date(this.#now()).toISOString())},"code":${JSON.stringify(error.code)},"message":${body}}\n`,
      );
    } catch (err) {
      this.#log.error("could not write the dead-letter file", {
        code: "dead_letter_write_failed",
        error: errorCode(err),
      });
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

/** Why `msg` is not a QueuedMessage the sink can deliver, or undefined if it is one. */
export function invalidMessage(msg: unknown): string | undefined {
  if (!msg || typeof msg !== "object") return "message is not an object";
  const m = msg as Record<string, unknown>;
  if (typeof m.kind !== "string" || !MESSAGE_KINDS.has(m.kind)) return "unknown message kind";
  switch (m.kind) {
    case "event": {
      const event = m.event as Record<string, unknown> | undefined;
      if (typeof m.key !== "string" || m.key.length === 0) return "event without key";
      if (!event || typeof event !== "object" || typeof event.topicName !== "string")
        return "event without topicName";
      return undefined;
    }
    case "event-pointer":
      return typeof m.key === "string" && typeof m.topicName === "string" && typeof m.objectKey === "string"
        ? undefined
        : "pointer without key, topicName or objectKey";
    default:
      return Array.isArray(m.topics) && typeof m.start === "string" && typeof m.end === "string"
        ? undefined
        : "gap without topics, start or end";
  }
}

/** The message an entry carries, parsed back from its body (only on rare paths: offload, dead letter). */
function entryMessage(e: Entry): QueuedMessage {
  return JSON.parse(e.sqs.fields.MessageBody) as QueuedMessage;
}

function parseSpooled(line: string): QueuedMessage | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return invalidMessage(v) === undefined ? (v as QueuedMessage) : undefined;
  } catch {
    return undefined;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
