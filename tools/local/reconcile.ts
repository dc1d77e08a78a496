/**
 * Loss accounting: what the upstream published (the simulator's ledger, subscribers or not) against what
 * is in the queue. `lost = published - delivered`, split by the worker's own records: `lostCoveredByDeadLetter`
 * (the worker's dead-letter queue names the event: known, not delivered), `lostCoveredByGap` (published inside a
 * recorded `tokenstream.gap` for its topic: known, reported, back-fillable) and `lostUncovered` (everything else,
 * silent loss: the figure that must be 0). Pointer messages must be resolved to their events by the caller (the
 * object holds the whole event message); unresolved, they count as `unknown`.
 */
import type { DeadLetterRecord, QueuedGapMessage, QueuedMessage } from "../../shared/contracts.ts";
import { envelopeContentKey } from "../../sim/content-key.ts";

/** An event the source published (a simulator ledger entry). */
export interface PublishedRecord {
  topic: string;
  sequence: number;
  correlationId: string | undefined;
  /** Epoch ms. */
  publishedAt: number;
  /** Content identity (sim/content-key.ts); without it the event is matched by CorrelationId or sequence. */
  contentKey?: string;
}

/** What ended up in the queue compared with what was published. */
export interface Reconciliation {
  published: number;
  /** Published events found in the queue (identical events each need their own copy). */
  delivered: number;
  lost: number;
  /** Lost, but named by a worker dead-letter record (known, not delivered). */
  lostCoveredByDeadLetter: number;
  /** Lost, but published inside a recorded gap for the event's topic. */
  lostCoveredByGap: number;
  /** Lost, named by no dead-letter record and outside every recorded gap: silent loss. */
  lostUncovered: number;
  /** Copies in the queue beyond the number of events published with that content. */
  duplicates: number;
  /**
   * Of those, how many the worker marked `possibleDuplicate` (it could not tell a copy from a distinct
   * repeat and delivered, as documented); `duplicates - duplicatesMarked` were delivered as distinct.
   */
  duplicatesMarked: number;
  /** Event messages in the queue that match nothing published (pointer messages included: no body to match). */
  unknown: number;
  /** Event and pointer messages seen, duplicates included. */
  eventMessages: number;
  /** Published events that repeat an earlier one exactly (same topic, body, CorrelationId). */
  identicalPublished: number;
  /** Of those repeats, how many have their own copy in the queue. */
  identicalDelivered: number;
  /** Lost events with an identical twin, outside every recorded gap (part of lostUncovered). */
  identicalLostUncovered: number;
  /** Worker dead-letter records given, and how many of them name no published event. */
  deadLetterRecords: number;
  deadLetterUnmatched: number;
  /** `tokenstream.gap` messages and their total duration. */
  gaps: number;
  gapMs: number;
  /** Up to `sampleLimit` lost events, uncovered ones first. */
  lostSample: PublishedRecord[];
}

/** Legacy identity when no content key is known: CorrelationId, else topic and the generator's sequence. */
export function eventIdentity(message: QueuedMessage): string | undefined {
  if (message.kind !== "event") return undefined;
  const correlationId = message.event.metadata?.CorrelationId;
  if (typeof correlationId === "string" && correlationId !== "") return `c:${correlationId}`;
  const body = message.event.eventBody as { sequence?: unknown } | null;
  if (body && typeof body === "object" && typeof body.sequence === "number") {
    return `s:${message.event.topicName}#${body.sequence}`;
  }
  return undefined;
}

function publishedIdentity(event: PublishedRecord): string {
  if (event.contentKey !== undefined) return `k:${event.contentKey}`;
  return event.correlationId ? `c:${event.correlationId}` : `s:${event.topic}#${event.sequence}`;
}

/** Gap intervals per topic, for "was this publish time inside a recorded gap?". */
export class GapCoverage {
  private readonly byTopic = new Map<string, [number, number][]>();

  constructor(gaps: Iterable<QueuedGapMessage>) {
    for (const gap of gaps) {
      const interval: [number, number] = [Date.parse(gap.start), Date.parse(gap.end)];
      for (const topic of gap.topics) {
        const list = this.byTopic.get(topic) ?? [];
        list.push(interval);
        this.byTopic.set(topic, list);
      }
    }
  }

  covers(topic: string, atMs: number): boolean {
    return this.byTopic.get(topic)?.some(([start, end]) => atMs >= start && atMs <= end) ?? false;
  }
}

export interface ReconcileOptions {
  /** Most lost events listed in `lostSample`. Default 10. */
  /**
   * Longest a copy can arrive after its event was published (channel lag plus processing): tells which of
   * several identical events a copy can stand for. Default 60000.
   */
  maxDeliveryLagMs?: number;
  sampleLimit?: number;
  /** The worker's dead-letter records (its dead-letter queue). */
  deadLetters?: Iterable<DeadLetterRecord>;
}

export function reconcile(
  published: Iterable<PublishedRecord>,
  received: Iterable<QueuedMessage>,
  options: ReconcileOptions = {},
): Reconciliation {
  const sampleLimit = options.sampleLimit ?? 10;
  const maxDeliveryLagMs = options.maxDeliveryLagMs ?? 60_000;
  const groups = new Map<string, PublishedRecord[]>();
  let publishedCount = 0;
  for (const event of published) {
    publishedCount += 1;
    const identity = publishedIdentity(event);
    const group = groups.get(identity);
    if (group) group.push(event);
    else groups.set(identity, [event]);
  }

  const copies = new Map<string, number>();
  const markedCopies = new Map<string, number>();
  /** When each copy was received (to tell which of several identical events a copy can have been). */
  const copyTimes = new Map<string, number[]>();
  const gapMessages: QueuedGapMessage[] = [];
  let eventMessages = 0;
  let unknown = 0;
  for (const message of received) {
    if (message.kind === "gap") {
      gapMessages.push(message);
      continue;
    }
    eventMessages += 1;
    if (message.kind !== "event") {
      unknown += 1;
      continue;
    }
    const byContent = `k:${envelopeContentKey(message.event)}`;
    const legacy = eventIdentity(message);
    const identity = groups.has(byContent)
      ? byContent
      : legacy !== undefined && groups.has(legacy)
        ? legacy
        : undefined;
    if (identity === undefined) unknown += 1;
    else {
      copies.set(identity, (copies.get(identity) ?? 0) + 1);
      if (message.possibleDuplicate) markedCopies.set(identity, (markedCopies.get(identity) ?? 0) + 1);
      const at = Date.parse(message.receivedAt);
      const times = copyTimes.get(identity);
      if (times) times.push(at);
      else copyTimes.set(identity, [at]);
    }
  }

  const deadLettered = new Map<string, number>();
  let deadLetterRecords = 0;
  let deadLetterUnmatched = 0;
  const byCorrelation = correlationIndex(groups);
  for (const record of options.deadLetters ?? []) {
    deadLetterRecords += 1;
    const identity = deadLetterIdentity(record, groups, byCorrelation);
    if (identity === undefined) deadLetterUnmatched += 1;
    else deadLettered.set(identity, (deadLettered.get(identity) ?? 0) + 1);
  }

  const coverage = new GapCoverage(gapMessages);
  let delivered = 0;
  let duplicates = 0;
  let duplicatesMarked = 0;
  let lostCoveredByDeadLetter = 0;
  let lostCoveredByGap = 0;
  let lostUncovered = 0;
  let identicalPublished = 0;
  let identicalDelivered = 0;
  let identicalLostUncovered = 0;
  const uncoveredSample: PublishedRecord[] = [];
  const coveredSample: PublishedRecord[] = [];
  for (const [identity, group] of groups) {
    const got = copies.get(identity) ?? 0;
    const matched = Math.min(got, group.length);
    delivered += matched;
    duplicates += got - matched;
    duplicatesMarked += Math.min(got - matched, markedCopies.get(identity) ?? 0);
    identicalPublished += group.length - 1;
    identicalDelivered += Math.max(0, matched - 1);
    let lost = group.length - matched;
    if (lost === 0) continue;
    const named = Math.min(lost, deadLettered.get(identity) ?? 0);
    lostCoveredByDeadLetter += named;
    lost -= named;
    if (lost === 0) continue;
    // Which of several identical events was lost is known only as far as receive times tell (a copy cannot
    // be of an event published after it was received); otherwise count the uncovered ones as lost first.
    const isCovered = (event: PublishedRecord) => coverage.covers(event.topic, event.publishedAt);
    const possible =
      group.length > 1
        ? possiblyLost(group, copyTimes.get(identity) ?? [], lost, isCovered, maxDeliveryLagMs)
        : group;
    const uncovered = possible.filter((event) => !isCovered(event));
    const covered = possible.filter(isCovered);
    for (const event of uncovered) {
      if (lost === 0) break;
      lost -= 1;
      lostUncovered += 1;
      if (group.length > 1) identicalLostUncovered += 1;
      if (uncoveredSample.length < sampleLimit) uncoveredSample.push(event);
    }
    for (const event of covered) {
      if (lost === 0) break;
      lost -= 1;
      lostCoveredByGap += 1;
      if (coveredSample.length < sampleLimit) coveredSample.push(event);
    }
  }

  return {
    published: publishedCount,
    delivered,
    lost: publishedCount - delivered,
    lostCoveredByDeadLetter,
    lostCoveredByGap,
    lostUncovered,
    duplicates,
    duplicatesMarked,
    unknown,
    eventMessages,
    identicalPublished,
    identicalDelivered,
    identicalLostUncovered,
    deadLetterRecords,
    deadLetterUnmatched,
    gaps: gapMessages.length,
    gapMs: gapMessages.reduce((sum, gap) => sum + gap.durationMs, 0),
    lostSample: [...uncoveredSample, ...coveredSample].slice(0, sampleLimit),
  };
}

/**
 * Of identical events, the ones to count as lost (`lost` of them, worst case: uncovered ones first) such
 * that the others can each be matched to a copy received no earlier than it was published and no later
 * than `maxLagMs` after. Small groups
 * only (identical repeats come in twos and threes); a larger or unmatchable group keeps every event a
 * candidate.
 */
function possiblyLost(
  group: PublishedRecord[],
  receivedAt: number[],
  lost: number,
  isCovered: (event: PublishedRecord) => boolean,
  maxLagMs: number,
): PublishedRecord[] {
  if (group.length > 12) return group;
  const copies = [...receivedAt].sort((a, b) => a - b);
  let best: PublishedRecord[] | undefined;
  let bestUncovered = -1;
  const n = group.length;
  for (let mask = 0; mask < 1 << n; mask++) {
    const chosen = group.filter((_, i) => mask & (1 << i));
    if (chosen.length !== lost) continue;
    const kept = group.filter((_, i) => !(mask & (1 << i)));
    if (!matchable(kept, copies, maxLagMs)) continue;
    const uncovered = chosen.filter((event) => !isCovered(event)).length;
    if (uncovered > bestUncovered) {
      best = chosen;
      bestUncovered = uncovered;
    }
  }
  return best ?? group;
}

/**
 * Can every kept event have its own copy, received within [publishedAt, publishedAt + maxLagMs]? Events
 * latest first, each takes the latest copy still free in its window (optimal for windows in this order).
 */
function matchable(kept: PublishedRecord[], sortedCopies: number[], maxLagMs: number): boolean {
  const latestFirst = kept.map((e) => e.publishedAt).sort((a, b) => b - a);
  const used = new Array<boolean>(sortedCopies.length).fill(false);
  for (const publishedAt of latestFirst) {
    let found = -1;
    for (let c = sortedCopies.length - 1; c >= 0; c--) {
      const at = sortedCopies[c]!;
      if (at < publishedAt) break;
      if (!used[c] && at <= publishedAt + maxLagMs) {
        found = c;
        break;
      }
    }
    if (found < 0) return false;
    used[found] = true;
  }
  return true;
}

/** Published identities by topic and CorrelationId, for dead-letter records that carry no whole event. */
function correlationIndex(groups: Map<string, PublishedRecord[]>): Map<string, string> {
  const index = new Map<string, string>();
  for (const [identity, group] of groups) {
    for (const event of group) {
      if (event.correlationId !== undefined)
        index.set(`${event.topic}\u0000${event.correlationId}`, identity);
    }
  }
  return index;
}

/** The published identity a dead-letter record names: by its whole event's content, else topic + CorrelationId. */
function deadLetterIdentity(
  record: DeadLetterRecord,
  groups: Map<string, PublishedRecord[]>,
  byCorrelation: Map<string, string>,
): string | undefined {
  const message = record.message;
  if (message?.kind === "event") {
    const byContent = `k:${envelopeContentKey(message.event)}`;
    if (groups.has(byContent)) return byContent;
    const legacy = eventIdentity(message);
    if (legacy !== undefined && groups.has(legacy)) return legacy;
  }
  if (record.topicName === undefined || record.correlationId === undefined) return undefined;
  return byCorrelation.get(`${record.topicName}\u0000${record.correlationId}`);
}
