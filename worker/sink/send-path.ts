/**
 * The sink's send path: one SendMessageBatch (or S3 offload detour) and what its answer does to the rest of
 * the sink: entries delivered or dead-lettered leave memory (and settle their spool segment), the in-flight
 * controller learns the round trip, a throttled batch holds back only its lanes, a failure pauses the sink
 * (SendBackoff), and the batch's lanes take part again. A lane's next batch may be staged while its batch is
 * in flight (serialised and signed, held before the write: send-gate.ts); the answer to the batch in flight
 * then writes it in the same turn, or cancels it (group-scheduler.ts, rule 4).
 */
import type { QueuedMessage } from "../../shared/contracts.ts";
import { type BatchOutcome, type BatchTarget, sendBatch } from "./batch-sender.ts";
import type { DeadLetterPath } from "./dead-letter.ts";
import type { Entry, EntryBuffer, Lane } from "./entry-buffer.ts";
import type { EntryFactory } from "./entry-factory.ts";
import type { InflightController } from "./inflight-controller.ts";
import type { Offloader } from "./offloader.ts";
import { isThrottle, type SendBackoff } from "./send-backoff.ts";
import { SendGate } from "./send-gate.ts";
import type { DeadLetterError, SinkLogger, SinkMetrics } from "./sink-ports.ts";
import type { SpoolHandoff } from "./spool-handoff.ts";

export interface SendPathDeps {
  target: BatchTarget;
  buffer: EntryBuffer;
  handoff: SpoolHandoff;
  deadLetters: DeadLetterPath;
  offloader: Offloader;
  entries: EntryFactory;
  controller: InflightController;
  backoff: SendBackoff;
  metrics: SinkMetrics;
  log: SinkLogger;
  now: () => number;
  /** Messages the sink holds (for the recovery log line). */
  depth: () => number;
  /** A staged batch may be written now (the sink is open, not held, not paused). */
  maySend: () => boolean;
}

/** One SendMessageBatch call: written at once, or staged behind a gate. */
interface Call {
  batch: Entry[];
  gate?: SendGate;
  sentAtMs: number;
}

export class SendPath {
  #inFlight = 0;
  /** Staged calls by lane (a lane has at most one). */
  readonly #staged = new Map<string, Call>();

  constructor(private readonly d: SendPathDeps) {}

  /** SendMessageBatch calls in flight (written, or to be written in this turn). */
  inFlight(): number {
    return this.#inFlight;
  }

  /** Staged calls waiting for their lane's batch in flight. */
  staged(): number {
    return this.#staged.size;
  }

  send(batch: Entry[]): Promise<void> {
    this.#inFlight++;
    return this.#run({ batch, sentAtMs: this.d.now() });
  }

  /** Prepares `batch` (one lane's, from EntryBuffer.takeStaged) to be written when its lane's batch is answered. */
  stage(batch: Entry[]): Promise<void> {
    const call: Call = { batch, gate: new SendGate(), sentAtMs: Number.NaN };
    this.#staged.set(batch[0]!.laneKey, call);
    return this.#run(call);
  }

  async #run(call: Call): Promise<void> {
    const d = this.d;
    const { batch, gate } = call;
    let outcome: BatchOutcome;
    try {
      outcome = await sendBatch(d.target, batch, gate);
    } catch (err) {
      if (gate?.cancelled) return; // never written: its lane was settled when it was cancelled
      throw err;
    } finally {
      if (!gate?.cancelled) this.#inFlight--;
    }
    const retry = outcome.split ? undefined : outcome.retryCode;
    const throttled = retry !== undefined && isThrottle(retry);
    d.controller.record({
      outcome: retry === undefined ? "ok" : throttled ? "throttled" : "failed",
      latencyMs: d.now() - call.sentAtMs,
      inFlight: this.#inFlight + 1,
    });
    this.#apply(outcome);
    // Throttling holds back only the lanes of the entries to retry; every other lane keeps being sent.
    const wait = throttled
      ? { groups: outcome.retryLanes, untilMs: d.backoff.throttled(outcome.retryLanes) }
      : undefined;
    const { promoted, cancelled } = d.buffer.release(batch, wait, () => this.#reserveSlot());
    for (const lane of cancelled) {
      this.#staged.get(lane)?.gate?.cancel();
      this.#staged.delete(lane);
    }
    for (const lane of promoted) {
      const next = this.#staged.get(lane)!;
      this.#staged.delete(lane);
      next.sentAtMs = d.now();
      next.gate!.open(d.target.requestTimeoutMs);
    }
    if (throttled)
      d.log.debug("SQS throttled a batch; its lanes back off", { code: "sqs_throttled", error: retry });
  }

  /** A staged call may be written now: counts it in flight if the sink sends and the window has room. */
  #reserveSlot(): boolean {
    if (!this.d.maySend() || this.#inFlight >= this.d.controller.limit()) return false;
    this.#inFlight++;
    return true;
  }

  /** An oversized head goes to S3; its pointer takes its place in the lane. */
  async offload(lane: Lane, entry: Entry): Promise<void> {
    const d = this.d;
    try {
      const msg = JSON.parse(entry.sqs.fields.MessageBody) as QueuedMessage;
      const outcome = await d.offloader.offload(msg, entry.sqs.sizeBytes, entry.seq);
      if (outcome.kind === "reject") {
        this.#reject(entry, outcome.error);
        return;
      }
      if (outcome.kind === "retry") {
        d.backoff.failed("offload_failed", outcome.code);
        return;
      }
      d.log.info("oversized event stored in S3; pointer queued", {
        code: "event_offloaded",
        key: outcome.pointer.key,
        sizeBytes: entry.sqs.sizeBytes,
      });
      const replacement = d.entries.make(outcome.pointer, entry.segment, undefined);
      replacement.seq = entry.seq;
      replacement.laneKey = entry.laneKey;
      replacement.submittedAtMs = entry.submittedAtMs;
      d.buffer.replace(entry, replacement);
    } finally {
      d.buffer.settle(lane);
    }
  }

  #apply(outcome: BatchOutcome): void {
    const d = this.d;
    for (const group of outcome.orderBentGroups) {
      d.log.warn("a later entry of a group was accepted before an earlier one being retried", {
        code: "order_bent",
        group,
      });
    }
    this.#delivered(outcome.delivered);
    for (const { entry, error } of outcome.rejected) this.#reject(entry, error);
    if (outcome.split) {
      d.log.warn("batch rejected as a whole; sending its entries one by one", {
        code: "batch_split",
        error: outcome.retryCode,
      });
      return;
    }
    if (outcome.retryCode !== undefined && !isThrottle(outcome.retryCode)) {
      d.backoff.failed(outcome.retryWhat ?? "batch_failed", outcome.retryCode);
      return;
    }
    const answered = new Set<string>();
    for (const e of outcome.delivered) answered.add(e.laneKey);
    for (const { entry } of outcome.rejected) answered.add(entry.laneKey);
    for (const lane of outcome.retryLanes) answered.delete(lane);
    if (answered.size > 0) d.backoff.succeeded(answered, d.depth);
  }

  #delivered(entries: readonly Entry[]): void {
    const d = this.d;
    const now = d.now();
    let events = 0;
    for (const e of entries) {
      this.#remove(e);
      if (e.kind !== "gap") events++;
      d.metrics.timing("SinkLatencyMs", now - e.submittedAtMs);
    }
    if (events > 0) d.metrics.count("EventsOut", events);
  }

  #reject(e: Entry, error: DeadLetterError): void {
    this.#remove(e);
    this.d.deadLetters.message(JSON.parse(e.sqs.fields.MessageBody) as QueuedMessage, e.sqs.sizeBytes, error);
  }

  #remove(e: Entry): void {
    if (this.d.buffer.remove(e)) this.d.handoff.settle(e.segment);
  }
}
