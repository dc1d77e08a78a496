/**
 * An HTTP forwarder in front of the simulator's REST API that answers selected requests itself: upstream
 * behaviour the simulator cannot produce on one session only (e.g. a 403 on one subscription PUT).
 * WebSocket traffic does not pass through it (channels carry the simulator's own connectUri).
 */
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FaultProxy {
  url: string;
  /** Requests seen, as "METHOD /path". */
  readonly seen: string[];
  close(): Promise<void>;
}

export type Interceptor = (req: IncomingMessage, n: number) => { status: number; body: unknown } | undefined;

export async function startFaultProxy(target: string, intercept: Interceptor): Promise<FaultProxy> {
  const t = new URL(target);
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${(req.url ?? "").split("?")[0]}`);
    const fault = intercept(req, seen.length);
    if (fault) {
      req.resume();
      res.writeHead(fault.status, { "content-type": "application/json" }).end(JSON.stringify(fault.body));
      return;
    }
    const upstream = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
