/**
 * Runs the seeded chaos schedule (sim/chaos-plan.ts) against a running simulator: every fault kind the
 * simulator can show, at random times, reproducibly by seed. Targets (which socket, topic, token) are
 * drawn from a second seeded generator among what exists when the fault fires, so they depend on the
 * client's timing; the schedule of kinds and times does not. Counts only faults that took effect.
 */
import { type ChaosFaultKind, ChaosPlan, type ChaosPlanOptions } from "./chaos-plan.ts";
import { CORRELATION_MODELS } from "./correlation.ts";
import { Random } from "./random.ts";
import type { RepeatKind } from "./repeats.ts";
import type { SimulatorFaults } from "./types.ts";

export interface ChaosOptions extends ChaosPlanOptions {
  /** How long windowed faults last (channel lag, subscription delay, forbidden topic). Default 5000 ms. */
  windowMs?: number;
  /** Longest channel lag. Default 10000 ms. */
  maxLagMs?: number;
  /** Longest subscription propagation delay. Default 2000 ms. */
  maxSubscriptionDelayMs?: number;
  /** Longest slow token response. Default 4000 ms (at least 1000). */
  maxSlowTokenMs?: number;
  /** OAuth client the client-wide faults hit. Default the first configured client. */
  clientId?: string;
}

export interface ChaosTarget {
  faults: SimulatorFaults;
  clientId: string;
  upstreamTopics(): string[];
  /** Channels of the client with an open socket. */
  openChannelIds(): string[];
  /** Closes one random channel socket with 1000 as if a second socket had replaced it. */
  kick(random: Random): boolean;
  setSubscriptionDelay(minMs: number, maxMs: number): void;
  /** Channels the client holds now, and its cap. */
  channelCount(clientId: string): number;
  maxChannels: number;
  /** Fingerprint of a live token whose channel has an open socket. */
  pickTokenWithSocket(random: Random): string | undefined;
  publishLarge(topic: string, frameBytes: number): void;
  largeEventSizes: readonly number[];
  /** Schedules an identical repeat of the last generated event. */
  repeatLast(kind: RepeatKind): boolean;
  setCorrelationModel(model: (typeof CORRELATION_MODELS)[number]): void;
}

export interface ChaosLogEntry {
  at: string;
  kind: ChaosFaultKind;
  detail: string;
}

const LOG_LIMIT = 2000;
const REPEAT_KINDS: RepeatKind[] = ["backToBack", "acrossRotation", "later"];

export class ChaosRunner {
  readonly counts = {} as Record<ChaosFaultKind, number>;
  readonly skipped = {} as Record<ChaosFaultKind, number>;
  readonly log: ChaosLogEntry[] = [];
  private readonly plan: ChaosPlan;
  private readonly random: Random;
  private readonly windowMs: number;
  private readonly maxLagMs: number;
  private readonly maxSubscriptionDelayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly windows = new Set<NodeJS.Timeout>();
  private readonly undo = new Set<() => void>();
  private startedAt = 0;
  private largeIndex = 0;
  private correlationIndex = 0;
  private repeatIndex = 0;
  private running = false;

  constructor(
    readonly options: ChaosOptions,
    private readonly target: ChaosTarget,
  ) {
    this.plan = new ChaosPlan(options);
    this.random = new Random((options.seed ^ 0x5eed5eed) >>> 0);
    this.windowMs = options.windowMs ?? 5000;
    this.maxLagMs = options.maxLagMs ?? 10_000;
    this.maxSubscriptionDelayMs = options.maxSubscriptionDelayMs ?? 2000;
  }

  get seed(): number {
    return this.options.seed;
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.scheduleNext();
  }

  /** Stops the schedule and ends every windowed fault still in effect. */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    for (const timer of this.windows) clearTimeout(timer);
    this.windows.clear();
    for (const restore of this.undo) restore();
    this.undo.clear();
  }

  /** Fires one fault of `kind` now (also used by the schedule); returns whether it took effect. */
  fire(kind: ChaosFaultKind): boolean {
    const detail = this.apply(kind);
    if (detail === undefined) {
      this.skipped[kind] = (this.skipped[kind] ?? 0) + 1;
      return false;
    }
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (this.log.length < LOG_LIMIT) this.log.push({ at: new Date().toISOString(), kind, detail });
    return true;
  }

  private scheduleNext(): void {
    const next = this.plan.next();
    const wait = Math.max(0, this.startedAt + next.atMs - Date.now());
    this.timer = setTimeout(() => {
      if (!this.running) return;
      this.fire(next.kind);
      this.scheduleNext();
    }, wait);
  }

  /** Ends a windowed fault after windowMs (or at stop()). */
  private window(restore: () => void): void {
    this.undo.add(restore);
    const timer = setTimeout(() => {
      this.windows.delete(timer);
      this.undo.delete(restore);
      restore();
    }, this.windowMs);
    this.windows.add(timer);
  }

  private apply(kind: ChaosFaultKind): string | undefined {
    const { faults } = this.target;
    const endpoints = ["oauth", "channelCreate", "subscriptions"] as const;
    switch (kind) {
      case "drop":
        return faults.dropSocket("random") > 0 ? "one socket destroyed" : undefined;
      case "halfOpen":
        return faults.halfOpen("random") > 0 ? "one socket silenced" : undefined;
      case "kick":
        return this.target.kick(this.random) ? "one socket replaced (1000)" : undefined;
      case "socketClosing":
        return faults.sendSocketClosing("random") > 0 ? "socket_closing to one socket" : undefined;
      case "maintenance": {
        const n = faults.maintenance(this.target.clientId);
        return n > 0 ? `socket_closing to ${n} sockets` : undefined;
      }
      case "http429":
      case "http5xx": {
        const endpoint = this.random.pick(endpoints)!;
        const n = 1 + this.random.int(3);
        if (kind === "http429") faults[endpoint].next(n, { status: 429, retryAfterSec: 1 });
        else faults[endpoint].next(n, { status: this.random.pick([500, 502, 503] as const)! });
        return `${n} x ${kind === "http429" ? "429" : "5xx"} on ${endpoint}`;
      }
      case "slowToken": {
        const max = this.options.maxSlowTokenMs ?? 4000;
        const delayMs = Math.round(max / 4 + this.random.next() * ((3 * max) / 4));
        faults.oauth.next(1, { kind: "slow", delayMs });
        return `next token response after ${delayMs} ms`;
      }
      case "subscriptionDelay": {
        this.target.setSubscriptionDelay(0, this.maxSubscriptionDelayMs);
        this.window(() => this.target.setSubscriptionDelay(0, 0));
        return `subscriptions take up to ${this.maxSubscriptionDelayMs} ms for ${this.windowMs} ms`;
      }
      case "channelLag": {
        const lagMs = Math.round(this.random.next() * this.maxLagMs);
        const channelId = this.pickChannel();
        if (!channelId) return undefined;
        faults.setChannelLag(channelId, lagMs, 500);
        this.window(() => faults.setChannelLag(channelId, 0, 0));
        return `one channel ${lagMs} ms behind for ${this.windowMs} ms`;
      }
      case "evict": {
        const { clientId, maxChannels } = this.target;
        const needed = Math.max(1, maxChannels - this.target.channelCount(clientId) + 1);
        const evicted = faults.secondConsumer(clientId, needed);
        return evicted > 0 ? `second consumer opened ${needed} channels, ${evicted} evicted` : undefined;
      }
      case "forbidTopic": {
        const topic = this.random.pick(this.target.upstreamTopics());
        if (topic === undefined) return undefined;
        faults.forbidTopic(topic, this.target.clientId);
        this.window(() => faults.allowTopic(topic, this.target.clientId));
        return `${topic} forbidden for ${this.windowMs} ms`;
      }
      case "revokeSilently": {
        const fingerprint = this.target.pickTokenWithSocket(this.random);
        if (!fingerprint || !faults.revokeTokenSilently(fingerprint)) return undefined;
        return `token ${fingerprint} revoked silently`;
      }
      case "largeEvents": {
        const topic = this.random.pick(this.target.upstreamTopics());
        if (topic === undefined) return undefined;
        const sizes = this.target.largeEventSizes;
        const size = sizes[this.largeIndex++ % sizes.length]!;
        this.target.publishLarge(topic, size);
        return `${size} byte event on ${topic}`;
      }
      case "identical": {
        const repeat = REPEAT_KINDS[this.repeatIndex++ % REPEAT_KINDS.length]!;
        return this.target.repeatLast(repeat) ? `identical repeat (${repeat})` : undefined;
      }
      case "correlation": {
        const model = CORRELATION_MODELS[++this.correlationIndex % CORRELATION_MODELS.length]!;
        this.target.setCorrelationModel(model);
        return `CorrelationId model ${model}`;
      }
    }
  }

  private pickChannel(): string | undefined {
    return this.random.pick(this.target.openChannelIds());
  }
}
