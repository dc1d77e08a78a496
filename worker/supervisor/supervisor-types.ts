/** The supervisor's options, dependencies, log and metric ports. */
import type { BackoffOptions } from "../core/backoff.ts";
import type { EventSink } from "../core/event-sink.ts";
import type { SessionFactory } from "../source/session.ts";
import type { TokenSource } from "../token/token-source.ts";
import type { SlotFailureOptions } from "./slot-failures.ts";

export interface SupervisorLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Metric names the supervisor records; WorkerTelemetry implements this. */
export interface SupervisorMetrics {
  count(
    name:
      | "EventsIn"
      | "DuplicatesDropped"
      | "Rotations"
      | "Gaps"
      | "GapMs"
      | "TokenRefreshes"
      | "MalformedFrames"
      | "SilentSessions"
      | "PossibleDuplicates"
      | "TopicsRefused"
      | "SessionsStopped"
      | "TokenRefusals"
      | "ChannelEvictions",
    n?: number,
  ): void;
  gauge(name: "LiveSessions" | "BufferDepth", value: number): void;
}

export interface SupervisorOptions {
  redundancy: number;
  topics: readonly string[];
  /** Fraction of a session's usable life after which its rotation is planned. Default 0.75. */
  refreshFraction?: number;
  rotationJitterMs?: number;
  /** Shortest life of a session before a planned rotation (guards against rotation loops). Default 1000. */
  minSessionLifeMs?: number;
  /** Longest delay between two sessions delivering the same upstream event (de-dup window). Default 10000. */
  lagBoundMs?: number;
  /** Longest time a confirmed subscription takes to deliver (propagation). Default 5000. */
  propagationMs?: number;
  /** How long a replaced session keeps delivering after its replacement is live. Default propagation + 2 x lag. */
  drainMs?: number;
  /** Consecutive events a session misses (its peers delivered them) before it is replaced. Default 3. */
  silentMissThreshold?: number;
  /** Tells this worker's message keys apart from any other process's. Default: random per process. */
  instanceId?: string;
  backoff?: BackoffOptions;
  /**
   * Longest a socket_closing replacement waits for another slot's rotation to finish (upstream grants 60 s
   * of grace; a turn normally takes well under a second). Default 10000.
   */
  maxTurnWaitMs?: number;
  /** Bounds on repeated failures per slot (400s, broker refusals) and the channel-eviction backoff. */
  failures?: SlotFailureOptions;
  /**
   * Genesys channels one session holds (one per 1,000 topics): with the sessions it holds, whether a
   * channel that died can have been evicted by this worker's own channels (over the per-client limit) or
   * only by another consumer of the same OAuth client. Default: from `topics`.
   */
  channelsPerSession?: number;
}

export interface SupervisorDeps {
  tokenSource: TokenSource;
  sessions: SessionFactory;
  sink: EventSink;
  log: SupervisorLog;
  metrics?: SupervisorMetrics;
  now?: () => number;
  random?: () => number;
}
