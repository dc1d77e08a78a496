import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEALTH_CHECK_COMMAND, HEALTH_PORT } from "../../lib/event-relay.ts";
import { type HealthServer, startHealthServer } from "../../worker/health.ts";
import { emptyStats, type WorkerStats } from "../../worker/supervisor/stats.ts";

/**
 * The task definition's health-check command, run as ECS runs it (`CMD node -e ...`) against the worker's real
 * health server: which worker states keep a task, and which get it replaced.
 */
let server: HealthServer;
let stats: WorkerStats = emptyStats();
let alive = true;

beforeAll(async () => {
  server = await startHealthServer({ port: 0, host: "127.0.0.1", stats: () => stats, alive: () => alive });
});
afterAll(async () => {
  await server.close();
});

function runCheck(port: number): Promise<number | null> {
  const [cmd, executable, ...args] = HEALTH_CHECK_COMMAND;
  expect(cmd).toBe("CMD");
  const script = args.map((a) => a.replace(`:${HEALTH_PORT}/`, `:${port}/`));
  return new Promise((resolve, reject) => {
    const child = spawn(executable!, script, { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
  });
}

describe("container health check", () => {
  it("probes the worker's /livez (process liveness) on HEALTH_PORT", () => {
    expect(HEALTH_CHECK_COMMAND.join(" ")).toContain(`http://127.0.0.1:${HEALTH_PORT}/livez`);
  });

  it("passes with a live session and a healthy sink", async () => {
    stats = { ...emptyStats(), liveSessions: 2, sinkHealthy: true };
    alive = true;
    expect(await runCheck(server.port)).toBe(0);
  });

  it("keeps a task while SQS is failing and while no session is live: an outage is no reason to replace it", async () => {
    stats = { ...emptyStats(), liveSessions: 0, sinkHealthy: false, bufferDepth: 500 };
    alive = true;
    expect(await runCheck(server.port)).toBe(0);
  });

  it("fails when the worker reports itself not alive (sink wedged, or still starting and not covering)", async () => {
    stats = { ...emptyStats(), liveSessions: 2, sinkHealthy: true };
    alive = false;
    expect(await runCheck(server.port)).toBe(1);
    alive = true;
  });

  it("fails when nothing answers on the port", async () => {
    const closed = await startHealthServer({ port: 0, host: "127.0.0.1", stats: () => stats });
    const port = closed.port;
    await closed.close();
    expect(await runCheck(port)).toBe(1);
  });
});
