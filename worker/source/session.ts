/**
 * A session = token + channel(s) + subscriptions + socket(s). It reports what happens through typed
 * events; the supervisor decides what to do about them (worker/core/close-policy.ts).
 */
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import type { SessionFailure } from "../core/close-policy.ts";
import type { WorkerToken } from "../token/token-source.ts";
import type { Frame, MalformedCode } from "./frame.ts";

export interface SessionEvents {
  /** Socket(s) open and (genesys) subscriptions confirmed: events are flowing. */
  live: () => void;
  event: (envelope: NotificationEnvelope, receivedAtMs: number) => void;
  /**
   * Something went wrong. After `socket-closing` the session may still deliver until the server closes
   * it; after any other failure the session is already torn down (no further events).
   */
  failure: (failure: SessionFailure) => void;
  malformed: (code: MalformedCode, sizeBytes: number) => void;
  /**
   * Topics the upstream refused (permission) while the others were subscribed: emitted before `live`, or
   * later when a probe finds them gone, with `sinceMs` = the last moment they were known subscribed.
   */
  refused: (topics: string[], sinceMs?: number) => void;
  /** Refused topics a later retry subscribed on the same channel: covered again from `sinceMs`. */
  regained: (topics: string[], sinceMs: number) => void;
  /** Torn down (by close() or after a failure); emitted once. */
  closed: () => void;
}

export interface Session {
  readonly id: string;
  readonly token: WorkerToken;
  /** Earliest channel expiry (genesys), for rotation planning. */
  readonly channelExpiresAtMs: number | undefined;
  /** Last frame of any kind (heartbeat included): the last moment the session was known to cover. */
  readonly lastFrameAtMs: number;
  readonly isLive: boolean;
  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void;
  /** Builds the session; outcomes arrive as `live` or `failure`. */
  start(): void;
  /** Closes sockets; idempotent; no failure event for a close the worker asked for. */
  close(): void;
  /**
   * Checks now that the upstream still holds every subscription (genesys: the channel probe with the
   * session's own token). Topics found gone are reported as `refused` since their last confirmation; a
   * revoked token or a vanished channel ends the session as the periodic probe does. Sources with nothing
   * to ask leave it out.
   */
  confirmSubscriptions?(): void;
  /**
   * The last moment the session had evidence of delivering `topic`: an event of it, or the upstream
   * confirming its subscription; undefined when it has none (then only its being open counts).
   */
  topicEvidenceMs?(topic: string): number | undefined;
}

/** Tiny typed event hub used by session adapters. */
export class SessionEmitter {
  readonly #listeners: { [E in keyof SessionEvents]: SessionEvents[E][] } = {
    live: [],
    event: [],
    failure: [],
    malformed: [],
    refused: [],
    regained: [],
    closed: [],
  };

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    this.#listeners[event].push(listener);
  }

  emit<E extends keyof SessionEvents>(event: E, ...args: Parameters<SessionEvents[E]>): void {
    for (const l of this.#listeners[event]) (l as (...a: Parameters<SessionEvents[E]>) => void)(...args);
  }

  /**
   * What every session kind does with a parsed frame. `socket_closing` is reported while the socket keeps
   * delivering until the server closes it; a dead channel ends the session through `end`.
   */
  relayFrame(frame: Frame, receivedAtMs: number, end: (failure: SessionFailure) => void): void {
    switch (frame.kind) {
      case "event":
        this.emit("event", frame.envelope, receivedAtMs);
        return;
      case "malformed":
        this.emit("malformed", frame.code, frame.sizeBytes);
        return;
      case "socket-closing":
        this.emit("failure", { kind: "socket-closing" });
        return;
      case "channel-dead":
        end({ kind: "channel-dead" });
        return;
      default:
        return;
    }
  }
}

export interface SessionFactory {
  create(token: WorkerToken, label: string): Session;
}
