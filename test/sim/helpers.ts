import WebSocket from "ws";
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import type { Simulator } from "../../sim/index.ts";
import { waitUntil } from "../../tools/wait-until.ts";

export function waitFor(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  return waitUntil(predicate, { timeoutMs, what, pollMs: 5 });
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function toResult(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
}

export async function requestToken(
  sim: Simulator,
  opts: { id?: string; secret?: string; body?: string; authorization?: string | null } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  const authorization =
    opts.authorization === undefined
      ? basic(opts.id ?? "sim-client", opts.secret ?? "sim-secret")
      : opts.authorization;
  if (authorization !== null) headers.authorization = authorization;
  const res = await fetch(`${sim.loginUrl}/oauth/token`, {
    method: "POST",
    headers,
    body: opts.body ?? "grant_type=client_credentials",
  });
  return toResult(res);
}

export async function getToken(sim: Simulator, id = "sim-client", secret = "sim-secret"): Promise<string> {
  const result = await requestToken(sim, { id, secret });
  if (result.status !== 200) throw new Error(`token request failed: ${result.status}`);
  return (result.json as { access_token: string }).access_token;
}

export async function api(
  sim: Simulator,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${sim.apiUrl}/api/v2/notifications${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return toResult(res);
}

export interface ChannelInfo {
  id: string;
  connectUri: string;
  expires: string;
}

export async function createChannel(sim: Simulator, token: string): Promise<ChannelInfo> {
  const res = await api(sim, token, "POST", "/channels");
  if (res.status !== 200) throw new Error(`channel create failed: ${res.status} ${res.text}`);
  return res.json as ChannelInfo;
}

export async function subscribe(
  sim: Simulator,
  token: string,
  channelId: string,
  topics: string[],
): Promise<void> {
  const res = await api(
    sim,
    token,
    "PUT",
    `/channels/${channelId}/subscriptions`,
    topics.map((id) => ({ id })),
  );
  if (res.status !== 200) throw new Error(`subscribe failed: ${res.status} ${res.text}`);
}

/** A real `ws` client that records every frame it receives. */
export class TestSocket {
  readonly messages: unknown[] = [];
  readonly events: NotificationEnvelope[] = [];
  heartbeats = 0;
  closeCode: number | undefined;
  closeReason = "";
  closed = false;
  opened = false;
  openError: Error | undefined;
  unexpectedStatus: number | undefined;
  readonly ws: WebSocket;

  constructor(url: string, headers?: Record<string, string>) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on("open", () => {
      this.opened = true;
    });
    this.ws.on("unexpected-response", (_req, res) => {
      this.unexpectedStatus = res.statusCode;
      res.resume();
      this.ws.terminate();
    });
    this.ws.on("error", (error) => {
      this.openError = error;
    });
    this.ws.on("message", (data) => {
      const parsed = JSON.parse(data.toString()) as Record<string, unknown>;
      this.messages.push(parsed);
      if (parsed.topicName === "channel.metadata") {
        if ((parsed.eventBody as { message?: string }).message === "WebSocket Heartbeat") this.heartbeats++;
      } else if (typeof parsed.topicName === "string" && parsed.topicName !== "v2.system.socket_closing") {
        this.events.push(parsed as unknown as NotificationEnvelope);
      }
    });
    this.ws.on("close", (code, reason) => {
      this.closed = true;
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  static async open(url: string, headers?: Record<string, string>): Promise<TestSocket> {
    const socket = new TestSocket(url, headers);
    await waitFor(() => socket.opened || socket.closed, 5000, `socket open ${url}`);
    if (!socket.opened) throw new Error(`socket did not open (status ${socket.unexpectedStatus})`);
    return socket;
  }

  has(predicate: (message: Record<string, unknown>) => boolean): boolean {
    return this.messages.some((message) => predicate(message as Record<string, unknown>));
  }

  send(body: unknown): void {
    this.ws.send(JSON.stringify(body));
  }

  terminate(): void {
    this.ws.terminate();
  }
}
