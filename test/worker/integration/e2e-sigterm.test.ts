import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterEach, describe, expect, it } from "vitest";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { receivedRef, type Simulator, startSimulator } from "../../../sim/index.ts";
import { waitFor } from "../../support/wait-for.ts";
import { type SwitchableProxy, startProxy } from "./tcp-proxy.ts";

const REPO_ROOT = new URL("../../../", import.meta.url).pathname;

let sim: Simulator | undefined;
let fauxqs: FauxqsServer | undefined;
let proxy: SwitchableProxy | undefined;
let child: ChildProcess | undefined;
let spoolDir: string | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await sim?.close();
  await proxy?.close();
  await fauxqs?.stop();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
  sim = fauxqs = proxy = child = spoolDir = undefined;
});

describe("worker/main.ts as a process", () => {
  it("on SIGTERM with events buffered (SQS down), drains them all to the queue and exits 0", async () => {
    sim = await startSimulator({ host: "127.0.0.1", port: 0, heartbeatIntervalMs: 50, seed: 3 });
    fauxqs = await startFauxqs({ port: 0, logger: false });
    const { queueUrl } = fauxqs.createQueue("events.fifo", { attributes: { FifoQueue: "true" } });
    proxy = await startProxy(fauxqs.address);
    spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-sigterm-"));
    const output: string[] = [];
    child = spawn(process.execPath, ["--import", "tsx", "worker/main.ts"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SOURCE_KIND: "genesys",
        GENESYS_API_URL: sim.apiUrl,
        GENESYS_LOGIN_URL: sim.loginUrl,
        TOPICS: "t.alpha,t.beta",
        REDUNDANCY: "2",
        TOKEN_SOURCE: "direct",
        GENESYS_CLIENT_ID: "sim-client",
        GENESYS_CLIENT_SECRET: "sim-secret",
        QUEUE_URL: queueUrl,
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL: proxy.url,
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        HEALTH_PORT: "0",
        SPOOL_DIR: spoolDir,
        SHUTDOWN_TIMEOUT_MS: "20000",
        HEARTBEAT_TIMEOUT_MS: "1000",
        LOG_LEVEL: "WARN",
        POWERTOOLS_METRICS_DISABLED: "true",
      },
    });
    child.stdout?.on("data", (d: Buffer) => output.push(d.toString("utf8")));
    child.stderr?.on("data", (d: Buffer) => output.push(d.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child?.on("exit", (code) => resolve(code)));

    const queued = (): QueuedMessage[] => {
      const q = fauxqs?.inspectQueue("events.fifo");
      return (q?.messages.ready ?? []).map((m) => JSON.parse(m.body) as QueuedMessage);
    };
    const s = sim;
    await waitFor(
      () => s.openSockets().length === 2 && s.subscribedTopics().length === 2,
      20_000,
      "worker live",
    );
    s.startGenerator(50);
    await waitFor(() => queued().length > 20, 10_000, "events reaching the queue");
    proxy.down();
    await new Promise((r) => setTimeout(r, 700)); // events pile up in the worker's buffer/spool
    s.stopGenerator();
    const emitted = s.ledger.total();
    const inQueueBeforeStop = queued().length;
    expect(inQueueBeforeStop).toBeLessThan(emitted);
    child.kill("SIGTERM");
    setTimeout(() => proxy?.up(), 300);
    const code = await exited;
    expect(code, output.join("")).toBe(0);
    expect(output.join("")).toContain("shutdown complete");

    const events = queued().filter((m): m is QueuedEventMessage => m.kind === "event");
    const refs = events.map((m) => receivedRef(m.event));
    expect(s.ledger.missingFrom(refs)).toEqual([]);
    expect(new Set(refs.map((r) => `${r.topicName}:${r.sequence}`)).size).toBe(events.length);
    // The shutdown closed the sessions on purpose: not a coverage gap.
    expect(queued().filter((m) => m.kind === "gap")).toEqual([]);
    // No token ever reached the process output.
    expect(output.join("")).not.toMatch(/access_token|Bearer /);
  });
});
