/** Generic token-authenticated stream (`/stream?topics=a,b`): token on the socket, closed at token death. */
import type { Connection } from "./connection.ts";
import type { Hub, Subscriber } from "./hub.ts";
import type { SimulatorCounters } from "./types.ts";

export class GenericStream implements Subscriber {
  /** Its token was revoked silently: no events, heartbeats continue. */
  silenced = false;

  constructor(
    readonly conn: Connection,
    readonly tokenFingerprint: string,
  ) {}

  connection(): Connection | undefined {
    return this.silenced ? undefined : this.conn;
  }
}

export class GenericStreams {
  private streams = new Map<Connection, GenericStream>();

  constructor(
    private readonly hub: Hub,
    private readonly counters: SimulatorCounters,
    private readonly closeCode: 4001 | 1008,
  ) {}

  add(conn: Connection, tokenFingerprint: string, topics: string[]): void {
    const stream = new GenericStream(conn, tokenFingerprint);
    this.streams.set(conn, stream);
    this.hub.setTopics(stream, topics);
  }

  detach(conn: Connection): void {
    const stream = this.streams.get(conn);
    if (!stream) return;
    this.streams.delete(conn);
    this.hub.remove(stream);
  }

  silenceByToken(tokenFingerprint: string): number {
    let silenced = 0;
    for (const stream of this.streams.values()) {
      if (stream.tokenFingerprint !== tokenFingerprint) continue;
      stream.silenced = true;
      silenced++;
    }
    return silenced;
  }

  /** The token expired or was revoked: close its sockets with the configured code. */
  closeByToken(tokenFingerprint: string): number {
    let closed = 0;
    for (const stream of [...this.streams.values()]) {
      if (stream.tokenFingerprint !== tokenFingerprint) continue;
      this.detach(stream.conn);
      this.counters.genericExpiryCloses++;
      stream.conn.close(this.closeCode, "token expired");
      closed++;
    }
    return closed;
  }
}

/** `topics=a,b` -> ["a","b"]. */
export function parseTopicsParam(value: string | null): string[] {
  return [
    ...new Set(
      (value ?? "")
        .split(",")
        .map((topic) => topic.trim())
        .filter((topic) => topic !== ""),
    ),
  ];
}
