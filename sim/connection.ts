/**
 * One server-side WebSocket (genesys channel socket or generic stream socket): heartbeats, ping/pong,
 * socket_closing, drops, half-open silence, and byte accounting so an abrupt drop can retract the
 * ledger deliveries of frames that never left the process.
 */
import type { WebSocket } from "ws";
import type { Ledger } from "./ledger.ts";
import type { SimulatorCounters } from "./types.ts";

export interface ConnectionSettings {
  heartbeatIntervalMs: number;
  socketClosingGraceMs: number;
  socketClosingEveryMs?: number;
}

export interface ConnectionHooks {
  counters: SimulatorCounters;
  ledger: Ledger;
  onClosed(conn: Connection): void;
}

const HEARTBEAT = Buffer.from(
  JSON.stringify({ topicName: "channel.metadata", eventBody: { message: "WebSocket Heartbeat" } }),
);
const PONG = Buffer.from(JSON.stringify({ topicName: "channel.metadata", eventBody: { message: "pong" } }));
const PRUNE_THRESHOLD = 4096;

/** Bytes a server-to-client (unmasked) frame with `payload` bytes occupies on the wire. */
export function frameBytes(payload: number): number {
  return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

export class Connection {
  halfOpen = false;
  closing = false;
  closed = false;
  readonly openedAt = Date.now();
  /** This socket's serial in the ledger (which sockets each event was written to). */
  readonly serial: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private maintenance: NodeJS.Timeout | undefined;
  private forcedClose: NodeJS.Timeout | undefined;
  /** Bytes handed to ws for this socket, counted from before the upgrade response left. */
  private queuedBytes: number;
  /** Event frames not yet known to be flushed: [ledger index, end offset in queuedBytes]. */
  private unflushedIndex: number[] = [];
  private unflushedEnd: number[] = [];
  private unflushedHead = 0;
  /** Delivery lag of this socket's channel (events only; heartbeats and control frames are not delayed). */
  private lagBaseMs = 0;
  private lagJitterMs = 0;
  private lagRandom: () => number = Math.random;
  private lagged: { frame: Buffer; index: number; releaseAt: number }[] = [];
  private lastReleaseAt = 0;
  private lagTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly kind: "genesys" | "generic",
    private readonly ws: WebSocket,
    private readonly settings: ConnectionSettings,
    private readonly hooks: ConnectionHooks,
    readonly channelId?: string,
  ) {
    this.queuedBytes = ws.bufferedAmount;
    this.serial = hooks.ledger.registerSocket(id);
    hooks.counters.socketsOpened++;
    this.heartbeat = setInterval(() => this.sendHeartbeat(), settings.heartbeatIntervalMs);
    if (settings.socketClosingEveryMs !== undefined) {
      this.maintenance = setTimeout(
        () => this.sendSocketClosing("maintenance"),
        settings.socketClosingEveryMs,
      );
    }
    ws.on("message", (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on("ping", (data) => {
      if (this.halfOpen || this.closed) return;
      this.queuedBytes += frameBytes(data.length);
      ws.pong(data);
    });
    ws.on("error", () => {
      // A peer reset is a normal way for a socket to end; 'close' follows.
    });
    ws.on("close", () => this.onClose());
    // The peer went away (FIN or reset): whatever is still queued here will never reach it.
    const socket = socketOf(ws);
    socket?.prependListener("end", () => this.retractUnflushed());
    socket?.prependListener("error", () => this.retractUnflushed());
  }

  /** Open and not silenced: the only sockets that get events. */
  get deliverable(): boolean {
    return !this.closed && !this.halfOpen && this.ws.readyState === this.ws.OPEN;
  }

  /** Writes one frame; `eventIndex` marks an event frame for the ledger. */
  send(frame: Buffer, eventIndex?: number): boolean {
    if (!this.deliverable) return false;
    this.queuedBytes += frameBytes(frame.length);
    if (eventIndex !== undefined) {
      this.unflushedIndex.push(eventIndex);
      this.unflushedEnd.push(this.queuedBytes);
      if (this.unflushedIndex.length - this.unflushedHead > PRUNE_THRESHOLD) this.pruneFlushed();
    }
    this.ws.send(frame, { binary: false });
    return true;
  }

  /** Events reach this socket `baseMs` (plus up to `jitterMs`) after they are published, in order. */
  setDeliveryLag(baseMs: number, jitterMs: number, random: () => number): void {
    this.lagBaseMs = Math.max(0, baseMs);
    this.lagJitterMs = Math.max(0, jitterMs);
    this.lagRandom = random;
  }

  get lagging(): boolean {
    return this.lagBaseMs > 0 || this.lagJitterMs > 0;
  }

  /**
   * Queues an event frame for its lagged release; the ledger records the delivery when it is written.
   * Frames still queued when the socket ends are never delivered (upstream lost them with the socket).
   */
  enqueueLagged(frame: Buffer, eventIndex: number): boolean {
    if (!this.deliverable) return false;
    const releaseAt = Math.max(
      this.lastReleaseAt,
      Date.now() + this.lagBaseMs + this.lagRandom() * this.lagJitterMs,
    );
    this.lastReleaseAt = releaseAt;
    this.lagged.push({ frame, index: eventIndex, releaseAt });
    if (this.lagged.length === 1) this.armLag();
    return true;
  }

  /** Event frames waiting for their lagged release. */
  get laggedFrames(): number {
    return this.lagged.length;
  }

  private armLag(): void {
    clearTimeout(this.lagTimer);
    const head = this.lagged[0];
    if (!head) return;
    this.lagTimer = setTimeout(() => this.releaseLagged(), Math.max(0, head.releaseAt - Date.now()));
  }

  private releaseLagged(): void {
    const now = Date.now();
    let due = 0;
    while (due < this.lagged.length && this.lagged[due]!.releaseAt <= now) due++;
    const batch = this.lagged.splice(0, due);
    if (batch.length > 0) socketOf(this.ws)?.cork();
    for (const { frame, index } of batch) {
      if (!this.send(frame, index)) break;
      this.hooks.ledger.addDelivered(index, 1, [this.serial]);
      this.hooks.counters.eventFramesSent++;
    }
    this.uncork();
    this.armLag();
  }

  sendJson(body: unknown): boolean {
    return this.send(Buffer.from(JSON.stringify(body)));
  }

  /** Batches many frames into one write (undone by uncork). */
  cork(): void {
    if (this.deliverable) socketOf(this.ws)?.cork();
  }

  uncork(): void {
    const socket = socketOf(this.ws);
    if (socket && socket.writableCorked > 0) socket.uncork();
  }

  sendSocketClosing(message = "maintenance"): boolean {
    if (this.closing || !this.deliverable) return false;
    this.closing = true;
    this.hooks.counters.socketClosingSent++;
    this.send(Buffer.from(JSON.stringify({ topicName: "v2.system.socket_closing", eventBody: { message } })));
    this.forcedClose = setTimeout(() => {
      if (this.closed || this.halfOpen) return;
      this.hooks.counters.forcedCloses++;
      this.close(1001, "socket closing");
    }, this.settings.socketClosingGraceMs);
    return true;
  }

  /** Abrupt TCP destroy, no close frame. Frames still queued in the process are retracted from the ledger. */
  drop(): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    this.retractUnflushed();
    this.hooks.counters.drops++;
    this.stopTimers();
    this.ws.terminate();
    return true;
  }

  /** Silence: no frames out, nothing read, no close. */
  goHalfOpen(): boolean {
    if (this.closed || this.halfOpen) return false;
    this.halfOpen = true;
    this.hooks.counters.halfOpens++;
    this.stopTimers();
    socketOf(this.ws)?.pause();
    return true;
  }

  /** Graceful close frame after everything queued (a silenced socket is destroyed instead). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.stopTimers();
    if (this.halfOpen) {
      this.retractUnflushed();
      this.ws.terminate();
      return;
    }
    this.ws.close(code, reason);
  }

  /** Immediate teardown (simulator shutdown). */
  terminate(): void {
    if (this.closed) return;
    this.retractUnflushed();
    this.stopTimers();
    this.ws.terminate();
  }

  private sendHeartbeat(): void {
    if (this.send(HEARTBEAT)) this.hooks.counters.heartbeatsSent++;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.halfOpen || isBinary) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString("utf8"));
    } catch {
      return;
    }
    if ((parsed as { message?: unknown } | null)?.message === "ping") {
      if (this.send(PONG)) this.hooks.counters.pongsSent++;
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.hooks.counters.socketsClosed++;
    this.hooks.onClosed(this);
  }

  private stopTimers(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.maintenance);
    clearTimeout(this.forcedClose);
    clearTimeout(this.lagTimer);
    this.lagged = [];
    this.heartbeat = this.maintenance = this.forcedClose = undefined;
  }

  private flushedOffset(): number {
    return this.queuedBytes - this.ws.bufferedAmount;
  }

  private pruneFlushed(): void {
    const flushed = this.flushedOffset();
    while (
      this.unflushedHead < this.unflushedEnd.length &&
      this.unflushedEnd[this.unflushedHead]! <= flushed
    ) {
      this.unflushedHead++;
    }
    if (this.unflushedHead > PRUNE_THRESHOLD / 2) {
      this.unflushedIndex = this.unflushedIndex.slice(this.unflushedHead);
      this.unflushedEnd = this.unflushedEnd.slice(this.unflushedHead);
      this.unflushedHead = 0;
    }
  }

  /**
   * Only exact while the socket is OPEN (no close frame queued by ws behind our frames); later it
   * just forgets, so graceful closes count what was queued before the close frame as delivered.
   */
  private retractUnflushed(): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      this.unflushedIndex = [];
      this.unflushedEnd = [];
      this.unflushedHead = 0;
      return;
    }
    const flushed = this.flushedOffset();
    for (let i = this.unflushedHead; i < this.unflushedEnd.length; i++) {
      if (this.unflushedEnd[i]! > flushed) {
        this.hooks.ledger.retractDelivery(this.unflushedIndex[i]!, this.serial);
        this.hooks.counters.eventFramesSent--;
      }
    }
    this.unflushedIndex = [];
    this.unflushedEnd = [];
    this.unflushedHead = 0;
  }
}

interface CorkableSocket {
  prependListener(event: "end" | "error", listener: () => void): void;
  cork(): void;
  uncork(): void;
  pause(): void;
  readonly writableCorked: number;
}

function socketOf(ws: WebSocket): CorkableSocket | undefined {
  return (ws as unknown as { _socket?: CorkableSocket })._socket;
}
