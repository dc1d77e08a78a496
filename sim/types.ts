/**
 * Public types of the Genesys Cloud + OAuth simulator (sim/README.md explains the behaviour).
 * Wire formats come from shared/contracts.ts; these are the simulator's own controls.
 */
import type { NotificationEnvelope } from "../shared/contracts.ts";
import type { ChaosLogEntry, ChaosOptions } from "./chaos.ts";
import type { ChaosFaultKind } from "./chaos-plan.ts";
import type { CorrelationModelName } from "./correlation.ts";
import type { Ledger } from "./ledger.ts";
import type { RepeatKind } from "./repeats.ts";

export interface SimulatedClient {
  clientId: string;
  clientSecret: string;
  /** Overrides SimulatorOptions.tokenLifetimeSec for this client. */
  tokenLifetimeSec?: number;
  /** Topics this client lacks permission for: subscribing to one is a 403 (unless ignoreErrors=true). */
  deniedTopics?: string[];
}

/** What happens when a client holds 20 channels, all with an open socket, and creates a 21st. */
export type ChannelLimitPolicy = "reject" | "evictOldest";

export interface SimulatorOptions {
  host?: string;
  port?: number;
  clients?: SimulatedClient[];
  /** Access token lifetime in seconds (fractions allowed). Default 86400. */
  tokenLifetimeSec?: number;
  /** Channel lifetime unless re-subscribed. Default 24 h. */
  channelLifetimeMs?: number;
  /** Default 20. */
  maxChannelsPerClient?: number;
  /** Default 1000. */
  maxTopicsPerChannel?: number;
  /**
   * Default "evictOldest", as documented: the 21st channel removes the one with the oldest last-used date,
   * channels without an active connection first. "reject" answers 400 `notification.channel.limit` when
   * every channel is connected.
   */
  channelLimitPolicy?: ChannelLimitPolicy;
  /** Default 30000. */
  heartbeatIntervalMs?: number;
  /** Forced close (1001) this long after v2.system.socket_closing. Default 60000. */
  socketClosingGraceMs?: number;
  /** If set, every socket gets v2.system.socket_closing once it is this old (maintenance). */
  socketClosingEveryMs?: number;
  /** If set, abruptly destroys one random open socket at this interval. */
  randomDropEveryMs?: number;
  /** Close code of the generic stream at token expiry. Default 4001. */
  genericCloseCode?: 4001 | 1008;
  /**
   * Topics the upstream publishes on whether or not anyone is subscribed. Topics subscribed at any point
   * are added to these (and keep being published after every subscriber has gone).
   */
  topics?: string[];
  /** Generator rate in events per second per upstream topic; 0 (default) = generator off. */
  eventRatePerSec?: number;
  /** Generator tick in ms (events are emitted in batches per tick). Default 50. */
  generatorTickMs?: number;
  /** CorrelationIds of generated events (sim/correlation.ts). Default "unique". */
  correlationModel?: CorrelationModelName;
  /** Events per request under the "shared" model. Default 3. */
  correlationGroupSize?: number;
  /** Share (0..1) of generated events published again identically (sim/repeats.ts). Default 0. */
  identicalShare?: number;
  /** Which repeat timings to use. Default all three. */
  identicalKinds?: RepeatKind[];
  /** Delay range of `later` repeats. Default 60000..360000 (1 to 6 minutes). */
  identicalDelayMinMs?: number;
  identicalDelayMaxMs?: number;
  /**
   * Subscription propagation: topics added by a PUT/POST start receiving events a uniform
   * [min, max] ms after the 200 (GET already lists them). Default 0.
   */
  subscriptionDelayMinMs?: number;
  subscriptionDelayMaxMs?: number;
  /** Per-channel delivery lag: each channel's base lag is uniform in [0, max] ms. Default 0. */
  channelLagMaxMs?: number;
  /** Extra per-event lag, uniform in [0, jitter] ms (order within a channel is kept). Default 0. */
  channelLagJitterMs?: number;
  /** Share (0..1) of generated events padded to one of `largeEventSizes`. Default 0. */
  largeEventShare?: number;
  /** Frame sizes of large events in bytes. Default 300 KiB, 1.5 MiB, 5 MiB. */
  largeEventSizes?: number[];
  /** Seed for the simulator's own randomness (drops, payloads, correlation-id prefix). */
  seed?: number;
  /** A seeded chaos schedule of every fault kind (sim/chaos.ts); starts with the simulator unless autoStart is false. */
  chaos?: ChaosOptions & { autoStart?: boolean };
}

export interface ChaosControl {
  readonly seed: number;
  /** Faults that took effect, per kind. */
  readonly counts: Readonly<Partial<Record<ChaosFaultKind, number>>>;
  /** Faults that found nothing to act on (e.g. no socket open), per kind. */
  readonly skipped: Readonly<Partial<Record<ChaosFaultKind, number>>>;
  readonly log: readonly ChaosLogEntry[];
  start(): void;
  /** Stops the schedule and ends windowed faults (lag, forbidden topic, subscription delay). */
  stop(): void;
  /** Fires one fault now. */
  fire(kind: ChaosFaultKind): boolean;
}

/**
 * A forced outcome for the next HTTP request(s) on one endpoint.
 * `slow` delays the request, then serves it normally; `reset` destroys the TCP connection without a response.
 */
export type HttpFault =
  | { status: 429; retryAfterSec?: number }
  | { status: 500 | 502 | 503 }
  | { status: 400 | 401 }
  | { kind: "garbage" }
  | { kind: "slow"; delayMs: number }
  | { kind: "reset" };

export interface FaultQueueControl {
  /** The next `n` requests on this endpoint get `fault` (queued after any earlier `next` calls). */
  next(n: number, fault: HttpFault): void;
  /** Forget all queued faults. */
  clear(): void;
  /** How many requests are still queued to fail. */
  readonly pending: number;
}

/** Selects sockets: "random" = one random open socket, "all", or a channel id (genesys) / connection id (generic). */
export type SocketSelector = "random" | "all" | string;

export interface SimulatorFaults {
  /** POST /oauth/token */
  oauth: FaultQueueControl;
  /** POST /api/v2/notifications/channels */
  channelCreate: FaultQueueControl;
  /** PUT|POST|GET|DELETE /api/v2/notifications/channels/{id}/subscriptions */
  subscriptions: FaultQueueControl;
  /** Abrupt TCP destroy, no close frame. Returns how many sockets were dropped. */
  dropSocket(which?: SocketSelector): number;
  /** The server goes silent on the socket (no heartbeats, events, pongs; stops reading) without closing it. */
  halfOpen(which?: SocketSelector): number;
  /** Delays events to the selected channels' sockets by `lagMs` (+ up to `jitterMs`); 0 = in step. */
  setChannelLag(which: SocketSelector, lagMs: number, jitterMs?: number): number;
  /** Sends v2.system.socket_closing, then force-closes (1001) after socketClosingGraceMs. */
  sendSocketClosing(which?: SocketSelector): number;
  /** Deletes a genesys channel: its socket gets {"result":"404",...} and is closed. */
  killChannel(channelId: string): boolean;
  /** Revokes a token given as the token itself or its fingerprint; its channels and generic sockets die. */
  revokeToken(tokenOrFingerprint: string): boolean;
  /**
   * Revokes a token without closing anything: REST calls with it get 401, and the channels (and generic
   * sockets) it created stop delivering events while heartbeats and pongs continue.
   */
  revokeTokenSilently(tokenOrFingerprint: string): boolean;
  /** Maintenance: v2.system.socket_closing to every socket of the client's channels at once, forced 1001 closes after the grace. */
  maintenance(clientId?: string): number;
  /**
   * A second consumer of the same OAuth client creates `channels` channels and keeps them connected; past
   * the cap each one evicts a channel as documented. Returns how many channels were evicted.
   */
  secondConsumer(clientId?: string, channels?: number): number;
  /** The client loses permission for a topic now: subscribing to it is refused and existing subscriptions stop delivering it. */
  forbidTopic(topic: string, clientId?: string): void;
  /** Gives the permission back (existing channels must subscribe again). */
  allowTopic(topic: string, clientId?: string): void;
  /**
   * Topics subscribed from now on start flowing a uniform `[minMs, maxMs]` after the 200 (subscription
   * propagation); 0, 0 = at once. Subscriptions already in effect are not affected.
   */
  setSubscriptionDelay(minMs: number, maxMs: number): void;
  /** Every issued token expires now (channels and generic sockets die accordingly). */
  expireAllTokens(): number;
}

export interface SimulatorCounters {
  tokenRequests: number;
  tokensIssued: number;
  oauthFailures: number;
  tokensRevoked: number;
  tokensExpired: number;
  restRequests: number;
  restUnauthorized: number;
  channelsCreated: number;
  channelsEvicted: number;
  channelsDied: number;
  channelCreateRejected: number;
  subscriptionsPut: number;
  subscriptionsPost: number;
  subscriptionsDeleted: number;
  subscriptionsRejected: number;
  socketsOpened: number;
  socketsClosed: number;
  socketsKicked: number;
  upgradesRejected: number;
  heartbeatsSent: number;
  pongsSent: number;
  socketClosingSent: number;
  forcedCloses: number;
  drops: number;
  halfOpens: number;
  notFoundFramesSent: number;
  genericExpiryCloses: number;
  eventsEmitted: number;
  /** Event frames written to sockets (one event to two sockets counts 2), minus frames retracted at a drop. */
  eventFramesSent: number;
  /** Events that reached no socket at publish time (dropped, as upstream). The ledger is authoritative. */
  eventsUndelivered: number;
}

export interface PublishOptions {
  /** A CorrelationId to use; null = the event carries none. Default: a unique uuid-shaped id. */
  correlationId?: string | null;
}

export interface PublishedEvent {
  topic: string;
  /** Per-topic ledger sequence (1-based); in the generated eventBody except for identical repeats. */
  sequence: number;
  correlationId: string | undefined;
  envelope: NotificationEnvelope;
  /** Content identity (topic, CorrelationId, eventBody): equal for legitimately identical events. */
  contentKey: string;
  /** True when this event repeats an earlier one exactly. */
  identical: boolean;
  /** Sockets the event was written to at publish time. */
  deliveredSockets: number;
  /** Lagging sockets that queued it for a later write (the ledger records those writes when they happen). */
  queuedSockets: number;
  /** Frame size in bytes. */
  sizeBytes: number;
}

export interface Simulator {
  /** POST `${loginUrl}/oauth/token` */
  readonly loginUrl: string;
  /** `${apiUrl}/api/v2/notifications/...` */
  readonly apiUrl: string;
  /** ws://host:port/stream — generic mode (`?topics=a,b&access_token=...`). */
  readonly genericStreamUrl: string;
  readonly port: number;
  readonly counters: Readonly<SimulatorCounters>;
  readonly faults: SimulatorFaults;
  readonly ledger: Ledger;
  /** The chaos schedule, when options.chaos was given. */
  readonly chaos: ChaosControl | undefined;
  /** Publishes one event now. Without `body` the eventBody is the generator's `{sequence, topic, emittedAt, data}`. */
  publish(topic: string, body?: unknown, opts?: PublishOptions): PublishedEvent;
  /** Publishes a generated event whose frame is `frameBytes` long (e.g. 300 KiB, 1.5 MiB, 5 MiB). */
  publishLarge(topic: string, frameBytes: number): PublishedEvent;
  /** Publishes `previous` again byte for byte: a distinct, legitimately identical upstream event. */
  publishIdentical(previous: PublishedEvent): PublishedEvent;
  /** Switches the CorrelationId model of generated events. */
  setCorrelationModel(model: CorrelationModelName): void;
  /** Starts (or re-rates) the generator; default rate = options.eventRatePerSec. */
  startGenerator(ratePerSec?: number): void;
  stopGenerator(): void;
  /** Drops the identical repeats scheduled but not published yet (a run that ends publishes no more). */
  cancelPendingRepeats(): void;
  /** Topics that at least one channel or generic socket is subscribed to. */
  subscribedTopics(): string[];
  /** Topics the upstream publishes on: configured `topics` plus every topic ever subscribed. */
  upstreamTopics(): string[];
  /** Open sockets: genesys (by channel) and generic. */
  openSockets(): SocketInfo[];
  /** Closes everything; idempotent; leaves no timers. */
  close(): Promise<void>;
}

export interface SocketInfo {
  id: string;
  kind: "genesys" | "generic";
  /** Channel id for genesys sockets. */
  channelId?: string;
  openedAt: number;
  halfOpen: boolean;
  closing: boolean;
}
