/**
 * Another consumer of the same OAuth client, written the naive way: it holds `channels` connected channels
 * and re-creates one at once (after `reactMs`) whenever its socket closes, e.g. because the worker's channel
 * creation evicted it at the per-client cap. Real HTTP and real ws against the simulator.
 */
import WebSocket from "ws";

export interface RivalConsumer {
  /** Channels it created (every one counts against the simulator's channelsCreated). */
  readonly created: number;
  stop(): Promise<void>;
}

export async function startRivalConsumer(o: {
  loginUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  channels: number;
  reactMs?: number;
}): Promise<RivalConsumer> {
  const basic = Buffer.from(`${o.clientId}:${o.clientSecret}`).toString("base64");
  const res = await fetch(`${o.loginUrl}/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  const { access_token: token } = (await res.json()) as { access_token: string };
  const sockets = new Set<WebSocket>();
  let created = 0;
  let stopped = false;

  const hold = async (): Promise<void> => {
    if (stopped) return;
    const r = await fetch(`${o.apiUrl}/api/v2/notifications/channels`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => undefined);
    if (!r?.ok || stopped) {
      if (!stopped) setTimeout(() => void hold(), o.reactMs ?? 10);
      return;
    }
    created++;
    const { connectUri } = (await r.json()) as { connectUri: string };
    const ws = new WebSocket(connectUri);
    sockets.add(ws);
    ws.on("error", () => undefined);
    ws.on("close", () => {
      sockets.delete(ws);
      if (!stopped) setTimeout(() => void hold(), o.reactMs ?? 10);
    });
    await new Promise<void>((resolve) => {
      ws.once("open", () => resolve());
      ws.once("close", () => resolve());
    });
  };

  for (let i = 0; i < o.channels; i++) await hold();
  return {
    get created() {
      return created;
    },
    async stop() {
      stopped = true;
      for (const ws of sockets) ws.terminate();
    },
  };
}
