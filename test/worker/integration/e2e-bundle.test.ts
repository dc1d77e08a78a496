/**
 * The artifact the image runs: worker/Dockerfile's own esbuild command (read from the file) bundles
 * worker/main.ts; `node <bundle>` is then run the way the image's CMD runs it (no Docker engine needed).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuedMessage } from "../../../shared/contracts.ts";
import { type Simulator, startSimulator } from "../../../sim/index.ts";
import { freePort } from "../../../tools/free-port.ts";
import { waitFor } from "../../support/wait-for.ts";
import { parseDockerfile } from "../unit/dockerfile.ts";
import { healthStats, REPO, spawnWorker, type WorkerProcess } from "./worker-process.ts";

const dir = mkdtempSync(join(tmpdir(), "tokenstream-bundle-"));
let bundle = "";
let sim: Simulator | undefined;
let fauxqs: FauxqsServer | undefined;
let child: WorkerProcess | undefined;

beforeAll(async () => {
  const build = parseDockerfile()[0]!;
  const esbuild = build.instructions.find((i) => i.op === "RUN" && i.args.includes("esbuild"));
  expect(esbuild).toBeDefined();
  const outfile = /--outfile=(\S+)/.exec(esbuild!.args)?.[1] ?? "";
  bundle = join(dir, outfile);
  const command = esbuild!.args.replace(`--outfile=${outfile}`, `--outfile=${bundle}`);
  await promisify(execFile)("sh", ["-c", command], { cwd: REPO });
}, 60_000);

afterAll(async () => {
  if (child?.child.exitCode === null) child.child.kill("SIGKILL");
  await sim?.close();
  await fauxqs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the bundle built by worker/Dockerfile", () => {
  it("refuses a bad environment with exit 2 and every problem listed", async () => {
    const w = spawnWorker({}, [bundle]);
    expect(await w.exited).toBe(2);
    const out = w.output();
    expect(out).toContain("invalid worker configuration");
    expect(out.match(/\n {2}- /g)?.length ?? 0).toBeGreaterThanOrEqual(5);
  });

  it("starts, delivers to the queue and exits 0 on SIGTERM", async () => {
    sim = await startSimulator({ host: "127.0.0.1", port: 0, heartbeatIntervalMs: 50 });
    fauxqs = await startFauxqs({ port: 0, logger: false });
    const { queueUrl } = fauxqs.createQueue("events.fifo", { attributes: { FifoQueue: "true" } });
    const healthPort = await freePort();
    const spoolDir = join(dir, "spool");
    child = spawnWorker(
      {
        GENESYS_API_URL: sim.apiUrl,
        GENESYS_LOGIN_URL: sim.loginUrl,
        TOPICS: "t.a",
        TOKEN_SOURCE: "direct",
        GENESYS_CLIENT_ID: "sim-client",
        GENESYS_CLIENT_SECRET: "sim-secret",
        QUEUE_URL: queueUrl,
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL: fauxqs.address,
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        HEALTH_PORT: String(healthPort),
        SPOOL_DIR: spoolDir,
        LOG_LEVEL: "WARN",
        POWERTOOLS_METRICS_DISABLED: "true",
      },
      [bundle],
    );
    const s = sim;
    let live = false;
    const deadline = Date.now() + 15_000;
    while (!live && Date.now() < deadline) {
      live = (await healthStats(healthPort))?.liveSessions === 2;
      if (!live) await new Promise((r) => setTimeout(r, 25));
    }
    expect(live, child.output()).toBe(true);
    for (let i = 0; i < 20; i++) s.publish("t.a");
    const queued = (): QueuedMessage[] =>
      (fauxqs?.inspectQueue("events.fifo")?.messages.ready ?? []).map(
        (m) => JSON.parse(m.body) as QueuedMessage,
      );
    await waitFor(() => queued().length === 20, 10_000, "20 events queued");
    const { code } = await child.signal("SIGTERM");
    expect(code, child.output()).toBe(0);
  });
});
