/**
 * worker/main.ts as a process with the broker token source (SigV4 from the environment's credentials) against
 * the real broker core, the simulator and fauxqs: every metric the issue names is emitted as EMF, no token the
 * identity provider issued ever appears in the output (DEBUG logging), SIGINT/SIGTERM exit within the
 * deadline, and what could not be drained by the deadline is delivered by the next start from the spool.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterEach, describe, expect, it } from "vitest";
import type { LocalBroker } from "../../../functions/broker/local-server.ts";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { receivedRef, type Simulator, startSimulator } from "../../../sim/index.ts";
import { freePort } from "../../../tools/free-port.ts";
import type { DynaliteServer } from "../../../tools/local/dynalite-server.ts";
import type { WorkerStats } from "../../../worker/supervisor/stats.ts";
import { waitFor } from "../../support/wait-for.ts";
import { startBrokerOnDynalite } from "./broker-on-dynalite.ts";
import { TEST_CREDENTIALS } from "./harness.ts";
import { type SwitchableProxy, startProxy } from "./tcp-proxy.ts";
import { emfMetricNames, healthStats, spawnWorker, type WorkerProcess } from "./worker-process.ts";

let sim: Simulator | undefined;
let fauxqs: FauxqsServer | undefined;
let dynalite: DynaliteServer | undefined;
let broker: LocalBroker | undefined;
let proxy: SwitchableProxy | undefined;
const children: WorkerProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill("SIGKILL");
  await sim?.close();
  await broker?.close();
  await dynalite?.stop();
  await proxy?.close();
  await fauxqs?.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  sim = fauxqs = dynalite = broker = proxy = undefined;
});

/** Simulator, broker (recording every token its identity provider issued), fauxqs behind a switchable proxy. */
async function setup(simOptions: Parameters<typeof startSimulator>[0] = {}) {
  const s = await startSimulator({
    host: "127.0.0.1",
    port: 0,
    heartbeatIntervalMs: 50,
    seed: 5,
    ...simOptions,
  });
  sim = s;
  const issued: string[] = [];
  ({ broker, dynalite } = await startBrokerOnDynalite(s, {
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      const body = await res.clone().text();
      try {
        const token = (JSON.parse(body) as { access_token?: unknown }).access_token;
        if (typeof token === "string") issued.push(token);
      } catch {
        // not a token response
      }
      return res;
    },
  }));
  fauxqs = await startFauxqs({ port: 0, logger: false });
  const { queueUrl } = fauxqs.createQueue("events.fifo", { attributes: { FifoQueue: "true" } });
  proxy = await startProxy(fauxqs.address);
  const spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-process-"));
  dirs.push(spoolDir);
  const healthPort = await freePort();
  const env: Record<string, string> = {
    SOURCE_KIND: "genesys",
    GENESYS_API_URL: s.apiUrl,
    TOPICS: "t.alpha,t.beta",
    REDUNDANCY: "2",
    TOKEN_SOURCE: "broker",
    BROKER_URL: broker.url,
    TOKEN_PROFILE: "main",
    QUEUE_URL: queueUrl,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    HEALTH_PORT: String(healthPort),
    SPOOL_DIR: spoolDir,
    SHUTDOWN_TIMEOUT_MS: "5000",
    HEARTBEAT_TIMEOUT_MS: "1000",
    // Compressed to the 2 s tokens of the simulator (drain = 50 + 2 x 200 ms).
    LAG_BOUND_MS: "200",
    SUBSCRIPTION_PROPAGATION_MS: "50",
    BACKOFF_BASE_MS: "20",
    BACKOFF_CAP_MS: "200",
    MIN_SESSION_LIFE_MS: "100",
    LOG_LEVEL: "WARN",
  };
  const queued = (): QueuedMessage[] =>
    (fauxqs?.inspectQueue("events.fifo")?.messages.ready ?? []).map(
      (m) => JSON.parse(m.body) as QueuedMessage,
    );
  return { sim: s, issued, env, healthPort, spoolDir, queued };
}

async function waitForHealth(
  port: number,
  predicate: (stats: WorkerStats) => boolean,
  timeoutMs: number,
  what: string,
): Promise<WorkerStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await healthStats(port);
    if (stats && predicate(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function spoolBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else total += st.size;
    }
  };
  walk(dir);
  return total;
}

describe("worker/main.ts as a process", () => {
  it("emits every named metric as EMF, never logs a token (DEBUG), and exits 0 on SIGTERM within the deadline", async () => {
    const { sim: s, issued, env, healthPort, queued } = await setup({ tokenLifetimeSec: 2 });
    const w = spawnWorker({ ...env, LOG_LEVEL: "DEBUG", METRICS_INTERVAL_MS: "200" });
    children.push(w);
    await waitForHealth(healthPort, (st) => st.liveSessions === 2, 20_000, "worker live");
    s.startGenerator(20);
    // Planned token rotations (2 s tokens), then every token refused at once: a refresh and a coverage gap.
    await waitForHealth(healthPort, (st) => st.rotations >= 2, 10_000, "rotations");
    s.faults.expireAllTokens();
    await waitForHealth(
      healthPort,
      (st) => st.gaps >= 1 && st.liveSessions === 2,
      10_000,
      "recovery after a gap",
    );
    s.stopGenerator();
    await waitForHealth(healthPort, (st) => st.bufferDepth === 0, 10_000, "buffer drained");
    const { code, ms } = await w.signal("SIGTERM");
    const out = w.output();
    expect(code, out.slice(-2_000)).toBe(0);
    expect(ms).toBeLessThan(5_000);
    expect(out).toContain('"message":"shutdown complete"');

    const names = emfMetricNames(out);
    for (const name of [
      "EventsIn",
      "EventsOut",
      "DuplicatesDropped",
      "LiveSessions",
      "Rotations",
      "Gaps",
      "GapMs",
      "TokenRefreshes",
      "SinkLatencyMs",
      "BufferDepth",
    ]) {
      expect(names, name).toContain(name);
    }

    // The scan is not vacuous: tokens were issued and the logs do talk about them (by fingerprint).
    expect(issued.length).toBeGreaterThanOrEqual(2);
    expect(out).toContain("tokenFingerprint");
    for (const token of issued) expect(out.includes(token)).toBe(false);
    expect(out).not.toMatch(/Bearer |access_token/i);
    // Every event is in the queue, once.
    const events = queued().filter((m): m is QueuedEventMessage => m.kind === "event");
    const refs = events.map((m) => receivedRef(m.event));
    expect(s.ledger.missingFrom(refs, { onlyDelivered: true })).toEqual([]);
    expect(new Set(refs.map((r) => `${r.topicName}:${r.sequence}`)).size).toBe(events.length);
  });

  it("SIGINT: stops rotating, closes its sockets and exits 0 well within SHUTDOWN_TIMEOUT_MS", async () => {
    const { sim: s, env, healthPort } = await setup();
    const w = spawnWorker({ ...env, POWERTOOLS_METRICS_DISABLED: "true" });
    children.push(w);
    await waitForHealth(healthPort, (st) => st.liveSessions === 2, 20_000, "worker live");
    expect(s.openSockets()).toHaveLength(2);
    const { code, ms } = await w.signal("SIGINT");
    expect(code, w.output()).toBe(0);
    expect(ms).toBeLessThan(5_000);
    await waitFor(() => s.openSockets().length === 0, 3_000, "the worker's sockets to close");
  });

  it("SQS down past the deadline: exits 1 on time, keeps the rest in the spool, and the next start delivers it", async () => {
    const { sim: s, env, healthPort, spoolDir, queued } = await setup();
    const first = spawnWorker({ ...env, SHUTDOWN_TIMEOUT_MS: "1500", POWERTOOLS_METRICS_DISABLED: "true" });
    children.push(first);
    await waitForHealth(healthPort, (st) => st.liveSessions === 2, 20_000, "worker live");
    proxy?.down();
    s.startGenerator(50);
    await waitForHealth(healthPort, (st) => st.bufferDepth >= 50, 10_000, "events buffered");
    s.stopGenerator();
    const { code, ms } = await first.signal("SIGTERM");
    expect(code, first.output()).toBe(1);
    expect(ms).toBeLessThan(1_500 + 2_000);
    expect(first.output()).toContain('"drained":false');
    expect(spoolBytes(spoolDir)).toBeGreaterThan(0);
    expect(queued()).toEqual([]);

    proxy?.up();
    const second = spawnWorker({ ...env, POWERTOOLS_METRICS_DISABLED: "true" });
    children.push(second);
    const emitted = s.ledger.total();
    await waitFor(() => queued().length >= emitted, 15_000, "the spooled events to be delivered");
    const refs = queued()
      .filter((m): m is QueuedEventMessage => m.kind === "event")
      .map((m) => receivedRef(m.event));
    expect(s.ledger.missingFrom(refs, { onlyDelivered: true })).toEqual([]);
    const { code: code2 } = await second.signal("SIGTERM");
    expect(code2, second.output()).toBe(0);
  });
});
