/**
 * Test doubles at the session port: a SessionFactory whose sessions follow a script (go live or not, then fail
 * in a given way after a given delay), and a token source that counts calls. They stand in for "any server
 * behaviour" so the supervisor's policy can be driven exhaustively under fake timers.
 */
import type { NotificationEnvelope, QueuedMessage } from "../../../shared/contracts.ts";
import { fingerprint } from "../../../shared/fingerprint.ts";
import type { SessionFailure } from "../../../worker/core/close-policy.ts";
import type { EventSink } from "../../../worker/core/event-sink.ts";
import { type Session, SessionEmitter, type SessionEvents } from "../../../worker/source/session.ts";
import type { SupervisorLog } from "../../../worker/supervisor/supervisor.ts";
import type { TokenSource, WorkerToken } from "../../../worker/token/token-source.ts";

export interface Script {
  /** Go live this long after start (undefined: never goes live). */
  liveAfterMs?: number;
  /** Then (or, if never live, after start) fail like this. */
  failure?: SessionFailure;
  failAfterMs?: number;
  /** Frames stop this long after going live (a half-open socket): lastFrameAtMs stays there. */
  framesStopAfterMs?: number;
  /** Topics the upstream refused at subscribe (reported just before "live", as GenesysSession does). */
  refused?: string[];
  /** Subscriptions the upstream drops silently this long after live; confirmSubscriptions() finds them. */
  vanish?: { topics: string[]; afterMs: number };
}

export class ScriptedSession implements Session {
  readonly channelExpiresAtMs = undefined;
  readonly #emitter = new SessionEmitter();
  #state: "new" | "starting" | "live" | "ended" = "new";
  readonly #timers: NodeJS.Timeout[] = [];
  startedAtMs = 0;
  liveAtMs: number | undefined;
  closedAtMs: number | undefined;

  constructor(
    readonly id: string,
    readonly token: WorkerToken,
    private readonly script: Script,
  ) {}

  get isLive(): boolean {
    return this.#state === "live";
  }

  get lastFrameAtMs(): number {
    const stop = this.script.framesStopAfterMs;
    if (stop === undefined || this.liveAtMs === undefined) return Date.now();
    return Math.min(Date.now(), this.liveAtMs + stop);
  }

  /** The server sends this session an event (ignored once it has ended, as a closed socket would). */
  deliver(envelope: NotificationEnvelope): void {
    if (this.#state === "live" || this.#state === "starting")
      this.#emitter.emit("event", envelope, Date.now());
  }

  get ended(): boolean {
    return this.#state === "ended";
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    this.#emitter.on(event, listener);
  }

  start(): void {
    this.#state = "starting";
    this.startedAtMs = Date.now();
    const { liveAfterMs, failure, failAfterMs = 0 } = this.script;
    if (liveAfterMs !== undefined) {
      this.#later(liveAfterMs, () => {
        if (this.#state !== "starting") return;
        this.#state = "live";
        this.liveAtMs = Date.now();
        if (this.script.refused?.length) this.#emitter.emit("refused", [...this.script.refused]);
        this.#emitter.emit("live");
        if (failure) this.#later(failAfterMs, () => this.#fail(failure));
      });
    } else if (failure) {
      this.#later(failAfterMs, () => this.#fail(failure));
    }
  }

  close(): void {
    this.#end();
  }

  confirmations = 0;
  #confirmedAtMs: number | undefined;

  /** As GenesysSession: topics gone since the last check are refused since that check. */
  confirmSubscriptions(): void {
    if (this.#state !== "live" || this.liveAtMs === undefined) return;
    this.confirmations++;
    const since = this.#confirmedAtMs ?? this.liveAtMs;
    this.#confirmedAtMs = Date.now();
    const vanish = this.script.vanish;
    if (
      vanish &&
      Date.now() >= this.liveAtMs + vanish.afterMs &&
      since < this.liveAtMs + vanish.afterMs + 1
    ) {
      this.#emitter.emit("refused", [...vanish.topics], since);
    }
  }

  #later(ms: number, fn: () => void): void {
    this.#timers.push(setTimeout(fn, ms));
  }

  #fail(f: SessionFailure): void {
    if (this.#state === "ended") return;
    if (f.kind === "socket-closing") {
      // Announced, still running (the server would close it much later).
      this.#emitter.emit("failure", f);
      return;
    }
    this.#end(f);
  }

  #end(f?: SessionFailure): void {
    if (this.#state === "ended") return;
    this.#state = "ended";
    this.closedAtMs = Date.now();
    for (const t of this.#timers) clearTimeout(t);
    if (f) this.#emitter.emit("failure", f);
    this.#emitter.emit("closed");
  }
}

export class ScriptedFactory {
  readonly created: ScriptedSession[] = [];
  /** `n`: sessions created before this one (all slots); `label`: the slot's (s0, s1, ...). */
  constructor(private readonly script: (n: number, label: string) => Script) {}
  create(token: WorkerToken, label: string): Session {
    if (this.created.length > 100_000) throw new Error("runaway session creation");
    const s = new ScriptedSession(
      `${label}#${this.created.length + 1}`,
      token,
      this.script(this.created.length, label),
    );
    this.created.push(s);
    return s;
  }
  bySlot(label: string): ScriptedSession[] {
    return this.created.filter((s) => s.id.startsWith(`${label}#`));
  }
}

export class CountingTokens implements TokenSource {
  currentCalls = 0;
  refreshCalls: string[] = [];
  #n = 0;
  #token: WorkerToken;
  constructor(private readonly lifetimeMs = 3_600_000) {
    this.#token = this.#mint();
  }
  #mint(): WorkerToken {
    const accessToken = `scripted-token-${++this.#n}`;
    return {
      accessToken,
      issuedAtMs: Date.now(),
      expiresAtMs: Date.now() + this.lifetimeMs,
      fingerprint: fingerprint(accessToken),
    };
  }
  async current(): Promise<WorkerToken> {
    this.currentCalls++;
    if (Date.now() >= this.#token.issuedAtMs! + this.lifetimeMs / 2) this.#token = this.#mint();
    return this.#token;
  }
  async refresh(rejected: string): Promise<WorkerToken> {
    this.refreshCalls.push(rejected);
    if (rejected === this.#token.fingerprint) this.#token = this.#mint();
    return this.#token;
  }
}

export class MemorySink implements EventSink {
  readonly messages: QueuedMessage[] = [];
  submit(msg: QueuedMessage): void {
    this.messages.push(msg);
  }
  depth(): number {
    return 0;
  }
  async drain(): Promise<{ drained: boolean; remaining: number }> {
    return { drained: true, remaining: 0 };
  }
  healthy(): boolean {
    return true;
  }
  async close(): Promise<void> {}
}

export interface LogLine {
  level: "info" | "warn" | "error";
  message: string;
  extra: Record<string, unknown> | undefined;
}

export function recordingLog(): SupervisorLog & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (message, extra) => void lines.push({ level: "info", message, extra }),
    warn: (message, extra) => void lines.push({ level: "warn", message, extra }),
    error: (message, extra) => void lines.push({ level: "error", message, extra }),
  };
}
