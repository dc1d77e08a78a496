/**
 * Genesys notification channels: per-client cap with eviction, lifetime (extended by re-subscribing),
 * death with the creating token, one socket per channel (a second socket kicks the first).
 */
import { randomBytes } from "node:crypto";
import type { Connection } from "./connection.ts";
import type { Hub, Subscriber } from "./hub.ts";
import type { Random } from "./random.ts";
import type { ChannelLimitPolicy, SimulatorCounters } from "./types.ts";

export interface ChannelSettings {
  channelLifetimeMs: number;
  maxChannelsPerClient: number;
  channelLimitPolicy: ChannelLimitPolicy;
  /** New topics start flowing a uniform [min, max] ms after the subscription request returns. */
  subscriptionDelayMinMs: number;
  subscriptionDelayMaxMs: number;
  /** Each channel's events are delayed by a base lag uniform in [0, max] plus per-event jitter. */
  channelLagMaxMs: number;
  channelLagJitterMs: number;
}

export class Channel implements Subscriber {
  conn: Connection | undefined;
  expiresAt: number;
  timer: NodeJS.Timeout | undefined;
  readonly createdAt = Date.now();
  /** Delivery lag of this channel's socket. */
  lagMs = 0;
  lagJitterMs = 0;
  /** Last time the channel was used (created, subscribed, connected): eviction takes the oldest first. */
  lastUsedAt = this.createdAt;
  /** Its token was revoked silently: no events any more, heartbeats continue. */
  silenced = false;
  /** Held by a simulated second consumer of the same OAuth client: counts as actively connected. */
  external = false;

  constructor(
    readonly id: string,
    readonly clientId: string,
    readonly tokenFingerprint: string,
    lifetimeMs: number,
  ) {
    this.expiresAt = this.createdAt + lifetimeMs;
  }

  connection(): Connection | undefined {
    return this.silenced ? undefined : this.conn;
  }

  get hasOpenSocket(): boolean {
    return this.external || (this.conn !== undefined && !this.conn.closed);
  }
}

const NOT_FOUND_FRAME = Buffer.from(JSON.stringify({ result: "404", message: "channel not found" }));
const MAX_TIMER_MS = 2 ** 31 - 1;

export type CreateResult = { ok: true; channel: Channel } | { ok: false };

export class ChannelStore {
  private channels = new Map<string, Channel>();

  constructor(
    private readonly settings: ChannelSettings,
    private readonly hub: Hub,
    private readonly counters: SimulatorCounters,
    private readonly random: Random,
  ) {}

  /**
   * A 21st channel removes the channel with the oldest last-used date, channels without an active
   * connection first (Genesys' documented rule); with policy "reject" a client whose channels are all
   * connected gets a 400 instead.
   */
  create(clientId: string, tokenFingerprint: string): CreateResult {
    const owned = this.ofClient(clientId).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    if (owned.length >= this.settings.maxChannelsPerClient) {
      const victim =
        owned.find((channel) => !channel.hasOpenSocket) ??
        (this.settings.channelLimitPolicy === "evictOldest" ? owned[0] : undefined);
      if (!victim) {
        this.counters.channelCreateRejected++;
        return { ok: false };
      }
      this.counters.channelsEvicted++;
      this.kill(victim.id);
    }
    const channel = new Channel(
      `streaming-0-${randomBytes(12).toString("hex")}`,
      clientId,
      tokenFingerprint,
      this.settings.channelLifetimeMs,
    );
    channel.lagMs = this.random.next() * this.settings.channelLagMaxMs;
    channel.lagJitterMs = this.settings.channelLagJitterMs;
    this.channels.set(channel.id, channel);
    this.armExpiry(channel);
    this.counters.channelsCreated++;
    return { ok: true, channel };
  }

  get(id: string): Channel | undefined {
    return this.channels.get(id);
  }

  /** Oldest first. */
  ofClient(clientId: string): Channel[] {
    return [...this.channels.values()].filter((channel) => channel.clientId === clientId);
  }

  ofToken(tokenFingerprint: string): Channel[] {
    return [...this.channels.values()].filter((channel) => channel.tokenFingerprint === tokenFingerprint);
  }

  topicsOf(channel: Channel): ReadonlySet<string> {
    return this.hub.topicsOf(channel);
  }

  /** Replaces the channel's topics; new ones take effect after the propagation delay. */
  setTopics(channel: Channel, topics: Iterable<string>): void {
    const { subscriptionDelayMinMs: min, subscriptionDelayMaxMs: max } = this.settings;
    this.hub.setTopics(channel, topics, min + this.random.next() * (max - min));
  }

  /** Sets a channel's delivery lag (and its open socket's). */
  setLag(channel: Channel, lagMs: number, jitterMs: number): void {
    channel.lagMs = lagMs;
    channel.lagJitterMs = jitterMs;
    channel.conn?.setDeliveryLag(lagMs, jitterMs, () => this.random.next());
  }

  all(): Channel[] {
    return [...this.channels.values()];
  }

  /** A second consumer of the same client creates a channel and holds it connected. */
  createExternal(clientId: string): CreateResult {
    const created = this.create(clientId, "external");
    if (created.ok) created.channel.external = true;
    return created;
  }

  /** Re-subscribing extends the channel's life. */
  extend(channel: Channel): void {
    channel.lastUsedAt = Date.now();
    channel.expiresAt = Date.now() + this.settings.channelLifetimeMs;
    this.armExpiry(channel);
  }

  /** The channel is gone: its socket gets {"result":"404"} and a close. */
  kill(id: string): boolean {
    const channel = this.channels.get(id);
    if (!channel) return false;
    clearTimeout(channel.timer);
    this.channels.delete(id);
    this.hub.remove(channel);
    this.counters.channelsDied++;
    const conn = channel.conn;
    channel.conn = undefined;
    if (conn?.deliverable) {
      conn.send(NOT_FOUND_FRAME);
      this.counters.notFoundFramesSent++;
      conn.close(1000, "channel not found");
    }
    return true;
  }

  /** The token was revoked without closing anything: its channels stop delivering events, sockets stay up. */
  silenceByToken(tokenFingerprint: string): number {
    const silenced = this.ofToken(tokenFingerprint);
    for (const channel of silenced) channel.silenced = true;
    return silenced.length;
  }

  killByToken(tokenFingerprint: string): number {
    const doomed = this.ofToken(tokenFingerprint);
    for (const channel of doomed) this.kill(channel.id);
    return doomed.length;
  }

  /** A new socket on the channel replaces (and closes) the previous one. */
  attach(channel: Channel, conn: Connection): void {
    const previous = channel.conn;
    channel.conn = conn;
    channel.lastUsedAt = Date.now();
    conn.setDeliveryLag(channel.lagMs, channel.lagJitterMs, () => this.random.next());
    if (previous && !previous.closed) {
      this.counters.socketsKicked++;
      previous.close(1000, "replaced by a new connection");
    }
  }

  detach(conn: Connection): void {
    if (conn.channelId === undefined) return;
    const channel = this.channels.get(conn.channelId);
    if (channel?.conn === conn) channel.conn = undefined;
  }

  close(): void {
    for (const channel of this.channels.values()) clearTimeout(channel.timer);
    this.channels.clear();
  }

  private armExpiry(channel: Channel): void {
    clearTimeout(channel.timer);
    const wait = channel.expiresAt - Date.now();
    channel.timer = setTimeout(
      () => {
        if (Date.now() >= channel.expiresAt) this.kill(channel.id);
        else this.armExpiry(channel);
      },
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
  }
}
