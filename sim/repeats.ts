/**
 * Legitimately identical events: a share of generated events is published again, byte for byte (same
 * topic, eventBody and CorrelationId), as a distinct upstream event. Three timings, the ways a worker that
 * de-duplicates by content would wrongly drop one:
 * - `backToBack`: right after the original;
 * - `acrossRotation`: when the next channel socket opens (a session is being replaced, old and new overlap);
 * - `later`: after a delay in [minDelayMs, maxDelayMs] (default 1 to 6 minutes: across SQS FIFO's 5-minute
 *   de-duplication interval).
 */
import type { Random } from "./random.ts";
import type { PublishedEvent } from "./types.ts";

export type RepeatKind = "backToBack" | "acrossRotation" | "later";

export const REPEAT_KINDS: readonly RepeatKind[] = ["backToBack", "acrossRotation", "later"];

export interface RepeatSettings {
  share: number;
  kinds: readonly RepeatKind[];
  minDelayMs: number;
  maxDelayMs: number;
}

/** Pending repeats are bounded: beyond this, new repeats of that kind are not scheduled. */
const MAX_PENDING = 10_000;
const CHECK_EVERY_MS = 50;

export class IdenticalRepeats {
  private readonly atRotation: PublishedEvent[] = [];
  private readonly later: { dueAt: number; event: PublishedEvent }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly scheduled: Record<RepeatKind, number> = { backToBack: 0, acrossRotation: 0, later: 0 };

  constructor(
    private settings: RepeatSettings,
    private readonly random: Random,
    private readonly republish: (event: PublishedEvent) => void,
  ) {}

  configure(settings: Partial<RepeatSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  /** The last generated event (what the chaos schedule repeats). */
  last: PublishedEvent | undefined;

  /** Called for every generated event (never for a repeat). */
  afterPublish(event: PublishedEvent): void {
    this.last = event;
    if (this.closed || this.settings.share <= 0 || this.random.next() >= this.settings.share) return;
    const kind = this.random.pick(this.settings.kinds);
    if (kind === undefined) return;
    this.schedule(event, kind);
  }

  schedule(event: PublishedEvent, kind: RepeatKind): void {
    if (this.closed) return;
    switch (kind) {
      case "backToBack":
        this.scheduled.backToBack++;
        this.republish(event);
        return;
      case "acrossRotation":
        if (this.atRotation.length >= MAX_PENDING) return;
        this.scheduled.acrossRotation++;
        this.atRotation.push(event);
        return;
      case "later": {
        if (this.later.length >= MAX_PENDING) return;
        this.scheduled.later++;
        const { minDelayMs, maxDelayMs } = this.settings;
        const dueAt = Date.now() + minDelayMs + this.random.next() * (maxDelayMs - minDelayMs);
        this.later.push({ dueAt, event });
        this.later.sort((a, b) => a.dueAt - b.dueAt);
        this.timer ??= setInterval(() => this.publishDue(), CHECK_EVERY_MS);
        return;
      }
    }
  }

  /** A channel socket opened: publish the repeats that wait for a rotation. */
  onSocketOpened(): void {
    for (const event of this.atRotation.splice(0)) this.republish(event);
  }

  get pending(): number {
    return this.atRotation.length + this.later.length;
  }

  /** Drops the repeats not published yet (the generator stopped: nothing more is generated). */
  cancelPending(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.atRotation.length = 0;
    this.later.length = 0;
  }

  close(): void {
    this.closed = true;
    this.cancelPending();
  }

  private publishDue(): void {
    const now = Date.now();
    while (this.later.length > 0 && this.later[0]!.dueAt <= now) this.republish(this.later.shift()!.event);
    if (this.later.length === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
