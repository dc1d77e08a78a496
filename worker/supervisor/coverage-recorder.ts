/**
 * The supervisor's coverage bookkeeping: which sessions cover the stream (GapTracker) and each refused
 * topic (TopicCoverage), from evidence (a session found silent covers only up to its last frame or event),
 * and the `tokenstream.gap` message, metrics and log line for every interval nobody covered.
 */
import type { EventSink } from "../core/event-sink.ts";
import { type Gap, GapTracker, toGapMessage } from "../core/gap-ledger.ts";
import { TopicCoverage, type TopicEvidence, type TopicGap } from "../core/topic-coverage.ts";
import type { WorkerStats } from "./stats.ts";
import type { SupervisorLog, SupervisorMetrics } from "./supervisor-types.ts";

export class CoverageRecorder {
  readonly #gaps: GapTracker;
  /** Topics refused by sessions: a topic refused by every live session is a gap for that topic. */
  readonly #topics: TopicCoverage;
  /** Sessions whose coverage ended before they were closed (watchdog, silent): their last evidence. */
  readonly #silentSince = new Map<string, number>();

  constructor(
    private readonly topics: readonly string[],
    private readonly deps: {
      sink: EventSink;
      log: SupervisorLog;
      metrics: SupervisorMetrics;
      stats: WorkerStats;
      now: () => number;
    },
  ) {
    this.#gaps = new GapTracker(deps.now);
    this.#topics = new TopicCoverage(deps.now);
    // Whole-worker gaps first, so that a topic's gap does not report their interval again.
    this.#gaps.onGap((gap) => {
      this.#topics.globalGap(gap);
      this.#onGap(gap);
    });
    this.#topics.onGap((gap) => this.#onTopicGap(gap));
  }

  liveCount(): number {
    return this.#gaps.liveCount();
  }

  sessionLive(id: string, atMs: number): void {
    this.#gaps.sessionLive(id, atMs);
    this.#topics.sessionLive(id, atMs);
  }

  /** The session's coverage ended at `lastEvidenceMs` (its last frame or event), before it is closed. */
  silentSince(id: string, lastEvidenceMs: number): void {
    if (!this.#silentSince.has(id)) this.#silentSince.set(id, lastEvidenceMs);
  }

  isSilent(id: string): boolean {
    return this.#silentSince.has(id);
  }

  /**
   * The session closed: it covered until now, or until its last evidence if it was found silent; a topic
   * some session found refused or gone it covered only until its evidence for that topic.
   */
  sessionClosed(id: string, nowMs: number, evidence?: TopicEvidence): { silent: boolean } {
    const silentSince = this.#silentSince.get(id);
    this.#silentSince.delete(id);
    this.#gaps.sessionDown(id, silentSince ?? nowMs);
    this.#topics.sessionDown(id, silentSince ?? nowMs, evidence);
    return { silent: silentSince !== undefined };
  }

  refused(id: string, topics: readonly string[], sinceMs?: number): void {
    this.#topics.refused(id, topics, sinceMs);
  }

  regained(id: string, topics: readonly string[], sinceMs: number): void {
    this.#topics.regained(id, topics, sinceMs);
  }

  /** Shutdown: an open gap ends now; sessions closed by the shutdown itself are no gap. */
  close(): void {
    this.#gaps.close();
    this.#topics.close();
  }

  #onGap(gap: Gap): void {
    this.#count(gap);
    const msg = toGapMessage(gap, this.topics);
    this.deps.log.warn("coverage gap", { start: msg.start, end: msg.end, durationMs: msg.durationMs });
    this.deps.sink.submit(msg);
  }

  /** A refused topic had no live session subscribed to it: a gap message for that topic alone. */
  #onTopicGap(gap: TopicGap): void {
    this.#count(gap);
    const msg = toGapMessage(gap, [gap.topic]);
    this.deps.log.warn("coverage gap (refused topic)", {
      start: msg.start,
      end: msg.end,
      durationMs: msg.durationMs,
      topic: gap.topic,
    });
    this.deps.sink.submit(msg);
  }

  #count(gap: Gap): void {
    this.deps.stats.gaps++;
    this.deps.stats.gapMs += gap.endMs - gap.startMs;
    this.deps.metrics.count("Gaps");
    this.deps.metrics.count("GapMs", gap.endMs - gap.startMs);
  }
}
