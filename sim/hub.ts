/**
 * Who is subscribed to what, which sockets are open, and event delivery: an event goes to every open,
 * non-silenced socket whose channel (or generic stream) is subscribed to its topic.
 */
import type { Connection } from "./connection.ts";
import type { Random } from "./random.ts";
import type { SocketInfo, SocketSelector } from "./types.ts";

/** A genesys channel or a generic stream: holds topics and (at most) one socket. */
export interface Subscriber {
  connection(): Connection | undefined;
}

export class Hub {
  private byTopic = new Map<string, Set<Subscriber>>();
  private topicsBySubscriber = new Map<Subscriber, Set<string>>();
  private connections = new Set<Connection>();
  /** Every topic any subscriber ever asked for: upstream keeps publishing on them after it leaves. */
  private everSubscribed = new Set<string>();
  /** Subscriptions still propagating: topic -> the time events start flowing to that subscriber. */
  private notBefore = new Map<Subscriber, Map<string, number>>();

  constructor(private readonly random: Random) {}

  topicsOf(subscriber: Subscriber): ReadonlySet<string> {
    return this.topicsBySubscriber.get(subscriber) ?? new Set();
  }

  /**
   * Replaces the subscriber's topic set. Topics it did not have yet start receiving events only after
   * `delayMs` (subscription propagation); removed topics stop at once.
   */
  setTopics(subscriber: Subscriber, topics: Iterable<string>, delayMs = 0): void {
    const next = new Set(topics);
    const previous = this.topicsBySubscriber.get(subscriber) ?? new Set<string>();
    for (const topic of previous) {
      if (next.has(topic)) continue;
      const subs = this.byTopic.get(topic);
      subs?.delete(subscriber);
      if (subs?.size === 0) this.byTopic.delete(topic);
    }
    for (const topic of next) {
      if (previous.has(topic)) continue;
      let subs = this.byTopic.get(topic);
      if (!subs) {
        subs = new Set();
        this.byTopic.set(topic, subs);
      }
      subs.add(subscriber);
      this.everSubscribed.add(topic);
      if (delayMs > 0) {
        const pending = this.notBefore.get(subscriber) ?? new Map<string, number>();
        pending.set(topic, Date.now() + delayMs);
        this.notBefore.set(subscriber, pending);
      }
    }
    const pending = this.notBefore.get(subscriber);
    if (pending) {
      for (const topic of pending.keys()) if (!next.has(topic)) pending.delete(topic);
      if (pending.size === 0) this.notBefore.delete(subscriber);
    }
    if (next.size === 0) this.topicsBySubscriber.delete(subscriber);
    else this.topicsBySubscriber.set(subscriber, next);
  }

  remove(subscriber: Subscriber): void {
    this.setTopics(subscriber, []);
    this.notBefore.delete(subscriber);
  }

  subscribedTopics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** Topics that were subscribed at some point (whether or not they still are). */
  knownTopics(): string[] {
    return [...this.everSubscribed];
  }

  addConnection(conn: Connection): void {
    this.connections.add(conn);
  }

  removeConnection(conn: Connection): void {
    this.connections.delete(conn);
  }

  /**
   * Writes the frame to every deliverable socket whose subscription to the topic is in effect. Returns the
   * ledger serials of the sockets written now and how many lagging sockets queued it for later.
   */
  deliver(topic: string, frame: Buffer, eventIndex: number): { serials: number[]; queued: number } {
    const subs = this.byTopic.get(topic);
    const serials: number[] = [];
    let queued = 0;
    if (!subs) return { serials, queued };
    const now = this.notBefore.size > 0 ? Date.now() : 0;
    for (const sub of subs) {
      if (now > 0 && !this.inEffect(sub, topic, now)) continue;
      const conn = sub.connection();
      if (!conn) continue;
      if (conn.lagging) {
        if (conn.enqueueLagged(frame, eventIndex)) queued++;
      } else if (conn.send(frame, eventIndex)) serials.push(conn.serial);
    }
    return { serials, queued };
  }

  private inEffect(sub: Subscriber, topic: string, now: number): boolean {
    const pending = this.notBefore.get(sub);
    const from = pending?.get(topic);
    if (from === undefined) return true;
    if (from > now) return false;
    pending!.delete(topic);
    if (pending!.size === 0) this.notBefore.delete(sub);
    return true;
  }

  corkAll(): void {
    for (const conn of this.connections) conn.cork();
  }

  uncorkAll(): void {
    for (const conn of this.connections) conn.uncork();
  }

  /** Open sockets matching the selector ("random" picks among deliverable ones). */
  select(which: SocketSelector): Connection[] {
    const open = [...this.connections].filter((conn) => !conn.closed);
    if (which === "all") return open;
    if (which === "random") {
      const pick = this.random.pick(open.filter((conn) => conn.deliverable));
      return pick ? [pick] : [];
    }
    return open.filter((conn) => conn.channelId === which || conn.id === which);
  }

  info(): SocketInfo[] {
    return [...this.connections]
      .filter((conn) => !conn.closed)
      .map((conn) => ({
        id: conn.id,
        kind: conn.kind,
        channelId: conn.channelId,
        openedAt: conn.openedAt,
        halfOpen: conn.halfOpen,
        closing: conn.closing,
      }));
  }

  allConnections(): Connection[] {
    return [...this.connections];
  }
}
