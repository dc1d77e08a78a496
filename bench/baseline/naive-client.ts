/**
 * The naive client most integrations start with, used as the benchmark baseline: ONE connection; on any close
 * it waits `reconnectDelayMs` (1 s), gets a fresh token, creates a new channel, subscribes and connects again.
 * No overlap, no de-duplication, `socket_closing` ignored (it simply waits for the close that follows).
 * Events raised while it is reconnecting never reach it: that is the loss the worker exists to avoid.
 */
import WebSocket from "ws";
import type { NotificationEnvelope } from "../../shared/contracts.ts";

/** Where and as whom to open a channel. */
export interface ChannelTarget {
  loginUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  topics: string[];
}

export interface NaiveClientOptions extends ChannelTarget {
  onEvent: (event: NotificationEnvelope) => void;
  reconnectDelayMs?: number;
}

export interface NaiveClientStats {
  connects: number;
  closes: number;
  connectFailures: number;
  eventsReceived: number;
}

export interface NaiveClient {
  /** Resolves once the first socket is open. */
  readonly ready: Promise<void>;
  live(): boolean;
  stats(): NaiveClientStats;
  stop(): Promise<void>;
}

const SYSTEM_TOPICS = new Set(["channel.metadata", "v2.system.socket_closing"]);

export function startNaiveClient(options: NaiveClientOptions): NaiveClient {
  const delayMs = options.reconnectDelayMs ?? 1_000;
  const stats: NaiveClientStats = { connects: 0, closes: 0, connectFailures: 0, eventsReceived: 0 };
  let socket: WebSocket | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const scheduleReconnect = () => {
    if (stopped) return;
    timer = setTimeout(() => void connect(), delayMs);
  };

  const connect = async () => {
    if (stopped) return;
    try {
      const token = await fetchToken(options);
      const connectUri = await createSubscribedChannel(options, token);
      if (stopped) return;
      const ws = new WebSocket(connectUri, { perMessageDeflate: false });
      socket = ws;
      ws.on("open", () => {
        stats.connects += 1;
        markReady();
      });
      ws.on("message", (data, isBinary) => {
        if (isBinary) return;
        let envelope: NotificationEnvelope;
        try {
          envelope = JSON.parse(data.toString()) as NotificationEnvelope;
        } catch {
          return;
        }
        if (typeof envelope?.topicName !== "string" || SYSTEM_TOPICS.has(envelope.topicName)) return;
        stats.eventsReceived += 1;
        options.onEvent(envelope);
      });
      ws.on("error", () => {});
      ws.on("close", () => {
        stats.closes += 1;
        if (socket === ws) socket = undefined;
        scheduleReconnect();
      });
    } catch {
      stats.connectFailures += 1;
      scheduleReconnect();
    }
  };

  void connect();
  return {
    ready,
    live: () => socket?.readyState === WebSocket.OPEN,
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const ws = socket;
      if (!ws || ws.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        ws.once("close", () => resolve());
        ws.terminate();
      });
    },
  };
}

/** client_credentials grant against `${loginUrl}/oauth/token`. */
export async function fetchToken(options: ChannelTarget): Promise<string> {
  const basic = Buffer.from(`${options.clientId}:${options.clientSecret}`).toString("base64");
  const response = await fetch(`${options.loginUrl}/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  if (!response.ok) throw new Error(`token request failed: HTTP ${response.status}`);
  const body = (await response.json()) as { access_token?: unknown };
  if (typeof body.access_token !== "string") throw new Error("token response without access_token");
  return body.access_token;
}

/** Creates a notification channel, subscribes `topics`, returns its connectUri. */
export async function createSubscribedChannel(options: ChannelTarget, token: string): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const created = await fetch(`${options.apiUrl}/api/v2/notifications/channels`, { method: "POST", headers });
  if (!created.ok) throw new Error(`channel create failed: HTTP ${created.status}`);
  const channel = (await created.json()) as { id?: unknown; connectUri?: unknown };
  if (typeof channel.id !== "string" || typeof channel.connectUri !== "string") {
    throw new Error("channel response without id/connectUri");
  }
  const subscribed = await fetch(
    `${options.apiUrl}/api/v2/notifications/channels/${encodeURIComponent(channel.id)}/subscriptions`,
    { method: "PUT", headers, body: JSON.stringify(options.topics.map((id) => ({ id }))) },
  );
  if (!subscribed.ok) throw new Error(`subscribe failed: HTTP ${subscribed.status}`);
  return channel.connectUri;
}
