/** A TCP proxy on 127.0.0.1 that can be switched off (connections reset) and on again: an SQS outage. */

import type { AddressInfo } from "node:net";
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface SwitchableProxy {
  url: string;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<SwitchableProxy> {
  const t = new URL(target);
  let isUp = true;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!isUp) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: t.hostname, port: Number(t.port) });
    open.add(client);
    open.add(upstream);
    const done = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", done).on("close", done);
    upstream.on("error", done).on("close", done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    down() {
      isUp = false;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    up() {
      isUp = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
