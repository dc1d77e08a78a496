/**
 * Genesys Cloud session: per shard of at most `maxTopicsPerChannel` topics, create a channel with the
 * token, connect its bare connectUri, PUT the shard's subscriptions, confirm the socket answers a ping. Live
 * once every shard's socket is open, subscribed and confirmed. Any shard failing ends the whole session.
 * A 429 on the subscriptions call is retried on the same channel after exactly its Retry-After. A session
 * that ends removes its channels' subscriptions (best effort), so an abandoned channel stops costing work.
 */
import type { SessionFailure } from "../core/close-policy.ts";
import type { WorkerToken } from "../token/token-source.ts";
import type { Frame } from "./frame.ts";
import { MAX_TOPICS_PER_CHANNEL } from "./genesys-limits.ts";
import { type GenesysRest, RestFailure } from "./genesys-rest.ts";
import { type Session, SessionEmitter, type SessionEvents } from "./session.ts";
import { SocketLink } from "./socket-link.ts";

export { MAX_TOPICS_PER_CHANNEL } from "./genesys-limits.ts";

export interface GenesysSessionOptions {
  id: string;
  token: WorkerToken;
  topics: readonly string[];
  rest: GenesysRest;
  heartbeatTimeoutMs: number;
  maxTopicsPerChannel?: number;
  maxFrameBytes?: number;
  /**
   * How often a live channel is probed (GET subscriptions with the session's token): a revoked token or a
   * deleted channel that still sends heartbeats is found within this bound. 0 = never. Default 60000.
   */
  probeIntervalMs?: number;
  /**
   * Refused or vanished topics are subscribed again on the same channel (the whole list, ignoreErrors=true)
   * this often, jittered ±20%, without rotating the session. 0 = only at rotation. Default 300000.
   */
  refusedTopicRetryMs?: number;
  /** Attempts of a subscriptions call answered 429 before the session gives up. Default 5. */
  maxSubscribeAttempts?: number;
}

/** Wait before retrying a 429 without Retry-After. */
const DEFAULT_THROTTLE_WAIT_MS = 1_000;

export function shardTopics(topics: readonly string[], perChannel: number): string[][] {
  const unique = [...new Set(topics)];
  const size = Math.max(1, Math.floor(perChannel));
  const shards: string[][] = [];
  for (let i = 0; i < unique.length; i += size) shards.push(unique.slice(i, i + size));
  return shards;
}

export class GenesysSession implements Session {
  readonly id: string;
  readonly token: WorkerToken;
  channelExpiresAtMs: number | undefined;
  readonly #emitter = new SessionEmitter();
  readonly #links: SocketLink[] = [];
  readonly #channelIds: string[] = [];
  #probeTimer: NodeJS.Timeout | undefined;
  #refusedRetryTimer: NodeJS.Timeout | undefined;
  readonly #refused: string[] = [];
  /** Per channel: the topics it should deliver, and when a probe (or the subscribe) last confirmed them. */
  readonly #covered = new Map<string, { all: string[]; topics: Set<string>; confirmedAtMs: number }>();
  /** When an event of each topic last arrived (evidence its subscription still held). */
  readonly #lastEventAt = new Map<string, number>();
  /** Settles what start() still awaits when the session ends first (no promise is left pending). */
  readonly #onEnd: Array<() => void> = [];
  #state: "new" | "starting" | "live" | "ended" = "new";

  constructor(private readonly opts: GenesysSessionOptions) {
    this.id = opts.id;
    this.token = opts.token;
  }

  get isLive(): boolean {
    return this.#state === "live";
  }

  get lastFrameAtMs(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const l of this.#links) min = Math.min(min, l.lastFrameAtMs);
    return Number.isFinite(min) ? min : Date.now();
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    this.#emitter.on(event, listener);
  }

  start(): void {
    if (this.#state !== "new") return;
    this.#state = "starting";
    const shards = shardTopics(this.opts.topics, this.opts.maxTopicsPerChannel ?? MAX_TOPICS_PER_CHANNEL);
    Promise.all(shards.map((topics) => this.#openShard(topics))).then(
      () => {
        if (this.#state !== "starting") return;
        this.#state = "live";
        this.#startProbe();
        this.#scheduleRefusedRetry();
        if (this.#refused.length > 0) this.#emitter.emit("refused", [...this.#refused]);
        this.#emitter.emit("live");
      },
      (err: unknown) => {
        const failure: SessionFailure =
          err instanceof RestFailure ? err.failure : { kind: "network", message: "session_start_failed" };
        this.#end(failure);
      },
    );
  }

  close(): void {
    this.#end(undefined);
  }

  confirmSubscriptions(): void {
    if (this.#state === "live") void this.#probe();
  }

  topicEvidenceMs(topic: string): number | undefined {
    let latest = this.#lastEventAt.get(topic);
    for (const c of this.#covered.values()) {
      if (c.topics.has(topic) && (latest === undefined || c.confirmedAtMs > latest)) latest = c.confirmedAtMs;
    }
    return latest;
  }

  async #openShard(topics: string[]): Promise<void> {
    const channel = await this.opts.rest.createChannel(this.token.accessToken);
    this.#channelIds.push(channel.id);
    if (this.#state !== "starting") return;
    if (channel.expiresAtMs !== undefined) {
      this.channelExpiresAtMs = Math.min(
        this.channelExpiresAtMs ?? Number.POSITIVE_INFINITY,
        channel.expiresAtMs,
      );
    }
    let link: SocketLink | undefined;
    await new Promise<void>((resolve, reject) => {
      let opened = false;
      this.#onEnd.push(() => reject(new RestFailure({ kind: "network", message: "session_closed" })));
      link = new SocketLink(
        {
          url: channel.connectUri,
          heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs,
          pingStyle: "json",
          maxFrameBytes: this.opts.maxFrameBytes,
        },
        {
          open: () => {
            opened = true;
            resolve();
          },
          frame: (frame, at) => this.#onFrame(frame, at),
          failure: (f) => {
            if (!opened) reject(new RestFailure(f));
            else this.#end(f);
          },
        },
      );
      this.#links.push(link);
      link.connect();
    });
    if (this.#state !== "starting") return;
    await this.#subscribe(channel.id, topics);
    if (this.#state !== "starting") return;
    // Confirm liveness: a socket that is open but passes nothing must not replace a working one.
    if (!(await link?.confirmLive(this.opts.heartbeatTimeoutMs / 2))) {
      throw new RestFailure({ kind: "watchdog" });
    }
  }

  #startProbe(): void {
    const every = this.opts.probeIntervalMs ?? 60_000;
    if (!(every > 0)) return;
    this.#probeTimer = setInterval(() => void this.#probe(), every);
    this.#probeTimer.unref?.();
  }

  /** 401 (token revoked or expired) and 404 (channel gone) end the session; other answers are not evidence. */
  async #probe(): Promise<void> {
    for (const id of this.#channelIds) {
      try {
        const askedAtMs = Date.now();
        const subscribed = await this.opts.rest.getSubscriptions(this.token.accessToken, id);
        if (this.#state === "live") this.#compareSubscriptions(id, subscribed, askedAtMs);
      } catch (err) {
        const f = err instanceof RestFailure ? err.failure : undefined;
        if (this.#state !== "live" || f?.kind !== "rest-error") return;
        if (f.status === 401 || f.status === 404) this.#end({ ...f, probe: true });
        return;
      }
    }
  }

  /**
   * A topic the channel should deliver but no longer lists (e.g. a permission withdrawn mid-run, whose
   * subscription is dropped without notice) is refused from the last confirmation on: its events may have
   * stopped any time since then.
   */
  #compareSubscriptions(channelId: string, subscribed: readonly string[], askedAtMs: number): void {
    const covered = this.#covered.get(channelId);
    if (!covered) return;
    const listed = new Set(subscribed);
    const vanished = [...covered.topics].filter((t) => !listed.has(t));
    for (const t of vanished) covered.topics.delete(t);
    const sinceMs = covered.confirmedAtMs;
    covered.confirmedAtMs = askedAtMs;
    if (vanished.length > 0) {
      this.#emitter.emit("refused", vanished, sinceMs);
      this.#scheduleRefusedRetry();
    }
  }

  #scheduleRefusedRetry(): void {
    const every = this.opts.refusedTopicRetryMs ?? 300_000;
    if (!(every > 0) || this.#refusedRetryTimer !== undefined || this.#state !== "live") return;
    const missing = [...this.#covered.values()].some((c) => c.topics.size < c.all.length);
    if (!missing) return;
    const delayMs = every * (0.8 + 0.4 * Math.random());
    this.#refusedRetryTimer = setTimeout(() => {
      this.#refusedRetryTimer = undefined;
      void this.#retryRefused().finally(() => this.#scheduleRefusedRetry());
    }, delayMs);
    this.#refusedRetryTimer.unref?.();
  }

  /**
   * PUT the channel's whole topic list again: topics accepted now are covered again from the answer on;
   * topics refused now that were covered are withdrawn back to their last confirmation. A failed retry
   * waits for the next one (a dead channel or token is the probe's to find).
   */
  async #retryRefused(): Promise<void> {
    for (const [channelId, covered] of this.#covered) {
      if (covered.topics.size >= covered.all.length) continue;
      let refused: string[];
      // The answer holds from some moment after the request left: the send time is the safe evidence.
      const askedAtMs = Date.now();
      try {
        refused = await this.opts.rest.putSubscriptions(this.token.accessToken, channelId, covered.all);
      } catch {
        return;
      }
      if (this.#state !== "live") return;
      const answeredAtMs = Date.now();
      const refusedSet = new Set(refused);
      const regained = covered.all.filter((t) => !refusedSet.has(t) && !covered.topics.has(t));
      const lost = [...covered.topics].filter((t) => refusedSet.has(t));
      for (const t of regained) covered.topics.add(t);
      for (const t of lost) covered.topics.delete(t);
      if (lost.length > 0) this.#emitter.emit("refused", lost, covered.confirmedAtMs);
      covered.confirmedAtMs = askedAtMs;
      if (regained.length > 0) this.#emitter.emit("regained", regained, answeredAtMs);
    }
  }

  /** PUT the subscriptions; a 429 is retried on the same channel after exactly its Retry-After. */
  async #subscribe(channelId: string, topics: string[]): Promise<void> {
    const maxAttempts = Math.max(1, this.opts.maxSubscribeAttempts ?? 5);
    for (let attempt = 1; ; attempt++) {
      const askedAtMs = Date.now();
      try {
        const refused = await this.opts.rest.putSubscriptions(this.token.accessToken, channelId, topics);
        if (this.#state === "ended") {
          // Ended while the PUT was in flight: #end's DELETE may have landed before it. Delete again.
          this.#deleteSubscriptions(channelId);
          return;
        }
        this.#refused.push(...refused);
        const refusedSet = new Set(refused);
        this.#covered.set(channelId, {
          all: topics,
          topics: new Set(topics.filter((t) => !refusedSet.has(t))),
          confirmedAtMs: askedAtMs,
        });
        return;
      } catch (err) {
        const f = err instanceof RestFailure ? err.failure : undefined;
        if (f?.kind !== "rest-error" || f.status !== 429 || attempt >= maxAttempts) throw err;
        const waitMs = f.retryAfterSec !== undefined ? f.retryAfterSec * 1000 : DEFAULT_THROTTLE_WAIT_MS;
        await this.#sleep(waitMs);
        if (this.#state !== "starting") return;
      }
    }
  }

  /** Resolves after `ms`, or at once when the session ends. */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#onEnd.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #onFrame(frame: Frame, receivedAtMs: number): void {
    if (frame.kind === "event") this.#lastEventAt.set(frame.envelope.topicName, receivedAtMs);
    if (this.#state === "ended") {
      // Closed on request: events the server sent before the socket closed still count.
      if (frame.kind === "event") this.#emitter.emit("event", frame.envelope, receivedAtMs);
      return;
    }
    this.#emitter.relayFrame(frame, receivedAtMs, (failure) => this.#end(failure));
  }

  #end(failure: SessionFailure | undefined): void {
    if (this.#state === "ended") return;
    this.#state = "ended";
    clearInterval(this.#probeTimer);
    clearTimeout(this.#refusedRetryTimer);
    for (const link of this.#links) link.close();
    for (const settle of this.#onEnd.splice(0)) settle();
    // Genesys has no channel DELETE: an abandoned channel stops costing work once it has no subscriptions.
    for (const id of this.#channelIds) this.#deleteSubscriptions(id);
    if (failure) this.#emitter.emit("failure", failure);
    this.#emitter.emit("closed");
  }

  /** Best effort: the channel may be gone already, or the token expired; neither is worth a failure. */
  #deleteSubscriptions(channelId: string): void {
    this.opts.rest.deleteSubscriptions(this.token.accessToken, channelId).catch(() => undefined);
  }
}
