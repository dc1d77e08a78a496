/**
 * Generic token-authenticated stream: the token travels in the `access_token` query parameter or an
 * `Authorization: Bearer` header; the server refuses a stale token with HTTP 401 on the upgrade and
 * closes with 4001/1008 when it expires. Live once the socket is open.
 */
import type { SessionFailure } from "../core/close-policy.ts";
import type { WorkerToken } from "../token/token-source.ts";
import type { Frame } from "./frame.ts";
import { type Session, SessionEmitter, type SessionEvents } from "./session.ts";
import { SocketLink } from "./socket-link.ts";

export type TokenPlacement = "query" | "header";

export interface GenericSessionOptions {
  id: string;
  token: WorkerToken;
  streamUrl: string;
  topics: readonly string[];
  tokenPlacement?: TokenPlacement;
  heartbeatTimeoutMs: number;
  maxFrameBytes?: number;
}

/** The URL to connect to; `topics` is added unless the configured URL already carries it. */
export function genericStreamUrl(base: string, topics: readonly string[], token: string | undefined): string {
  const url = new URL(base);
  if (topics.length > 0 && !url.searchParams.has("topics")) url.searchParams.set("topics", topics.join(","));
  if (token !== undefined) url.searchParams.set("access_token", token);
  return url.toString();
}

export class GenericSession implements Session {
  readonly id: string;
  readonly token: WorkerToken;
  readonly channelExpiresAtMs = undefined;
  readonly #emitter = new SessionEmitter();
  #link: SocketLink | undefined;
  #state: "new" | "starting" | "live" | "ended" = "new";

  constructor(private readonly opts: GenericSessionOptions) {
    this.id = opts.id;
    this.token = opts.token;
  }

  get isLive(): boolean {
    return this.#state === "live";
  }

  get lastFrameAtMs(): number {
    return this.#link?.lastFrameAtMs ?? Date.now();
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    this.#emitter.on(event, listener);
  }

  start(): void {
    if (this.#state !== "new") return;
    this.#state = "starting";
    const inHeader = this.opts.tokenPlacement === "header";
    const link = new SocketLink(
      {
        url: genericStreamUrl(
          this.opts.streamUrl,
          this.opts.topics,
          inHeader ? undefined : this.token.accessToken,
        ),
        headers: inHeader ? { authorization: `Bearer ${this.token.accessToken}` } : undefined,
        heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs,
        pingStyle: "ws",
        maxFrameBytes: this.opts.maxFrameBytes,
      },
      {
        open: () => {
          if (this.#state !== "starting") return;
          this.#state = "live";
          this.#emitter.emit("live");
        },
        frame: (frame, at) => this.#onFrame(frame, at),
        failure: (f) => this.#end(f),
      },
    );
    this.#link = link;
    link.connect();
  }

  close(): void {
    this.#end(undefined);
  }

  #onFrame(frame: Frame, receivedAtMs: number): void {
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
    this.#link?.close();
    if (failure) this.#emitter.emit("failure", failure);
    this.#emitter.emit("closed");
  }
}
