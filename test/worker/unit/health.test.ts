import { afterEach, describe, expect, it } from "vitest";
import { type HealthServer, startHealthServer } from "../../../worker/health.ts";
import { emptyStats, type WorkerStats } from "../../../worker/supervisor/stats.ts";

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("health endpoints", () => {
  it("/healthz follows sessions and sink; /livez stays 200 through an outage (no task replacement)", async () => {
    let stats: WorkerStats = { ...emptyStats(), liveSessions: 2 };
    server = await startHealthServer({ port: 0, host: "127.0.0.1", stats: () => stats });
    const get = (path: string) => fetch(`http://127.0.0.1:${server?.port}${path}`);
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/livez")).status).toBe(200);
    // Input above what SQS takes: a backlog on the spool is reported, the task stays in service.
    stats = { ...stats, backlogMessages: 1_200, backlogAgeMs: 4_000 };
    const degraded = await get("/healthz");
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toMatchObject({
      status: "degraded",
      backlogMessages: 1_200,
      backlogAgeMs: 4_000,
    });
    stats = { ...stats, backlogMessages: 0, backlogAgeMs: 0 };
    expect(await (await get("/healthz")).json()).toMatchObject({ status: "ok" });
    stats = { ...stats, sinkHealthy: false, bufferDepth: 500 };
    const down = await get("/healthz");
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: "unhealthy", bufferDepth: 500 });
    stats = { ...stats, sinkHealthy: true, liveSessions: 0 };
    expect((await get("/healthz")).status).toBe(503);
    const live = await get("/livez");
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "alive" });
    expect((await get("/nope")).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/livez`, { method: "POST" })).status).toBe(405);
  });
});
