/**
 * Per-topic coverage for topics the upstream refused (403 under `ignoreErrors=true`) or dropped (a
 * permission withdrawn mid-run drops a subscription without notice): a session that refused a topic never
 * covers it, so a topic refused by every live session is a gap for that topic alone, from when the refusing
 * sessions went live until a session that subscribed it goes live. Each such topic gets its own GapTracker,
 * seeded with the sessions live when the topic was first refused and those that ended within the coverage
 * history.
 *
 * A permission is the OAuth client's, so when one session finds a topic gone, the others may have lost it
 * too without anybody asking: for such a topic, a session that ends covers it only up to its last evidence
 * for that topic (an event of it, or the upstream confirming the subscription), not up to its end.
 * Intervals already reported as whole-worker gaps (no session at all) are not reported again per topic.
 * Pure: the clock is injected.
 */
import { COVERAGE_HISTORY_MS, type Gap, GapTracker, subtract } from "./gap-ledger.ts";

/** The last moment a session had evidence of delivering `topic`; undefined: none beyond its being open. */
export type TopicEvidence = (topic: string) => number | undefined;

export interface TopicGap extends Gap {
  topic: string;
}

interface LiveSession {
  liveAtMs: number;
  refused: Set<string>;
}

interface EndedSession extends LiveSession {
  id: string;
  endMs: number;
  evidence: TopicEvidence | undefined;
}

export class TopicCoverage {
  readonly #live = new Map<string, LiveSession>();
  /** Refusals a session announced before it went live (the session reports them just before "live"). */
  readonly #pending = new Map<string, Set<string>>();
  readonly #topics = new Map<string, GapTracker>();
  /** Sessions that ended, within the coverage history (seeds for a topic refused later). */
  #ended: EndedSession[] = [];
  /** Whole-worker gaps already reported; never reported again per topic. */
  #globalGaps: Gap[] = [];
  readonly #listeners: Array<(gap: TopicGap) => void> = [];

  constructor(private readonly now: () => number = Date.now) {}

  onGap(cb: (gap: TopicGap) => void): void {
    this.#listeners.push(cb);
  }

  /** A whole-worker gap was reported: its interval is not reported again for any topic. */
  globalGap(gap: Gap): void {
    this.#globalGaps.push(gap);
    const floor = this.now() - 2 * 60 * 60_000;
    this.#globalGaps = this.#globalGaps.filter((g) => g.endMs >= floor);
  }

  /**
   * Topics the session does not cover: refused at subscribe (before the session is live they apply when it
   * goes live; coverage never started), or found gone later, with `sinceMs` = when they were last known
   * subscribed (default: since the session went live).
   */
  refused(id: string, topics: readonly string[], sinceMs?: number): void {
    const live = this.#live.get(id);
    if (!live) {
      const pending = this.#pending.get(id) ?? new Set<string>();
      for (const t of topics) pending.add(t);
      this.#pending.set(id, pending);
      return;
    }
    for (const t of topics) this.#withdraw(id, live, t, sinceMs);
  }

  sessionLive(id: string, atMs: number = this.now()): void {
    if (this.#live.has(id)) return;
    const refused = this.#pending.get(id) ?? new Set<string>();
    this.#pending.delete(id);
    const live: LiveSession = { liveAtMs: atMs, refused: new Set() };
    this.#live.set(id, live);
    for (const [topic, tracker] of this.#topics) if (!refused.has(topic)) tracker.sessionLive(id, atMs);
    for (const t of refused) this.#withdraw(id, live, t);
  }

  /** A live session covers these topics again (a retried subscription was accepted) from `atMs`. */
  regained(id: string, topics: readonly string[], atMs: number = this.now()): void {
    const live = this.#live.get(id);
    if (!live) return;
    for (const t of topics) {
      if (!live.refused.delete(t)) continue;
      this.#topics.get(t)?.sessionLive(id, Math.min(atMs, this.now()));
    }
  }

  /**
   * The session no longer covers anything; `coveredUntilMs` as for GapTracker.sessionDown. `evidence`: its
   * last evidence per topic, which bounds its coverage of the topics some session found refused or gone.
   */
  sessionDown(id: string, coveredUntilMs: number = this.now(), evidence?: TopicEvidence): void {
    this.#pending.delete(id);
    const live = this.#live.get(id);
    if (!live) return;
    this.#live.delete(id);
    const ended: EndedSession = { ...live, id, endMs: coveredUntilMs, evidence };
    for (const [topic, tracker] of this.#topics)
      if (!live.refused.has(topic)) tracker.sessionDown(id, coveredEnd(ended, topic));
    const floor = this.now() - COVERAGE_HISTORY_MS;
    this.#ended = this.#ended.filter((e) => e.endMs >= floor);
    this.#ended.push(ended);
  }

  /** Topics refused by every live session right now (nobody receives their events). */
  uncoveredTopics(): string[] {
    return [...this.#topics].filter(([, tr]) => tr.liveCount() === 0).map(([t]) => t);
  }

  /** Shutdown: closes open per-topic gaps at now. Call after the whole-worker tracker's close(). */
  close(): void {
    for (const tracker of this.#topics.values()) tracker.close();
  }

  #withdraw(id: string, live: LiveSession, topic: string, sinceMs = live.liveAtMs): void {
    if (live.refused.has(topic)) return;
    live.refused.add(topic);
    const coveredUntilMs = Math.max(live.liveAtMs, sinceMs);
    let tracker = this.#topics.get(topic);
    if (!tracker) {
      tracker = this.#track(topic);
      // Seed with the sessions that ended within the history (up to their evidence for the topic) and the
      // live ones, in the order they went live; the refusing one covered it up to `coveredUntilMs`.
      const seeds: Array<{ id: string; s: LiveSession; endMs?: number }> = [
        ...this.#ended.map((e) => ({ id: e.id, s: e, endMs: coveredEnd(e, topic) })),
        ...[...this.#live].map(([sid, s]) => ({ id: sid, s })),
      ].sort((a, b) => a.s.liveAtMs - b.s.liveAtMs);
      for (const seed of seeds) {
        tracker.sessionLive(seed.id, seed.s.liveAtMs);
        if (seed.s.refused.has(topic))
          tracker.sessionDown(seed.id, seed.id === id ? coveredUntilMs : seed.s.liveAtMs);
        else if (seed.endMs !== undefined) tracker.sessionDown(seed.id, seed.endMs);
      }
      return;
    }
    tracker.sessionDown(id, coveredUntilMs);
  }

  #track(topic: string): GapTracker {
    const tracker = new GapTracker(this.now);
    tracker.onGap((gap) => {
      for (const piece of subtract(gap, this.#globalGaps))
        if (piece.endMs > piece.startMs) for (const cb of this.#listeners) cb({ ...piece, topic });
    });
    this.#topics.set(topic, tracker);
    return tracker;
  }
}

/** An ended session covered `topic` until its end, or only until its last evidence for it, if earlier. */
function coveredEnd(e: EndedSession, topic: string): number {
  const evidence = e.evidence?.(topic);
  return evidence === undefined ? e.endMs : Math.max(e.liveAtMs, Math.min(e.endMs, evidence));
}
