/**
 * `/healthz` on HEALTH_PORT: 200 while at least one session is live and the sink is healthy, else 503.
 * Status `degraded` (still 200) while a backlog waits on the spool: input exceeds what SQS accepts (or
 * recovered from an outage), so events are safe but late.
 * The JSON body carries the worker's stats (counts only, never a token): upstream and sink state for
 * humans and load balancers.
 * `/livez`: liveness of the process, for the container health check that replaces the task: 200 while
 * the event loop turns (answering at all) and `alive()` holds (worker/app.ts: the sink's pump is not
 * wedged; and, during the start-up grace only, the task has covered once, so deployments stay
 * make-before-break), else 503. Never upstream or SQS success: replacing a worker because Genesys, the
 * identity provider or SQS is down would not help and would open new channels in a loop; coverage gates
 * deployments through ECS deployment alarms instead (docs/durability.md).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { WorkerStats } from "./supervisor/stats.ts";

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export function isHealthy(stats: WorkerStats): boolean {
  return stats.liveSessions >= 1 && stats.sinkHealthy;
}

export function healthStatus(stats: WorkerStats): "ok" | "degraded" | "unhealthy" {
  if (!isHealthy(stats)) return "unhealthy";
  return (stats.backlogMessages ?? 0) > 0 ? "degraded" : "ok";
}

export async function startHealthServer(opts: {
  port: number;
  host?: string;
  stats: () => WorkerStats;
  /** Process liveness beyond answering (default: always). */
  alive?: () => boolean;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/livez") {
      const alive = opts.alive?.() ?? true;
      res.writeHead(alive ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : alive ? '{"status":"alive"}' : '{"status":"stuck"}');
      return;
    }
    if (path !== "/healthz") {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
      return;
    }
    const stats = opts.stats();
    const healthy = isHealthy(stats);
    const body = JSON.stringify({ status: healthStatus(stats), ...stats });
    res.writeHead(healthy ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
