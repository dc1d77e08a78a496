/**
 * The image worker/Dockerfile builds, run as a container (podman; `npm run test:image` builds it on a
 * stand-in base image first): its configuration is what the Dockerfile declares; with no configuration it
 * exits 2 naming every problem; run like the task (init, uid 1000, read-only root, fresh volumes at the VOLUMEs) on
 * the host network against the simulator, the real broker and fauxqs, it goes live, delivers, spools under
 * SPOOL_DIR while SQS is unreachable, delivers the spool once SQS is back, and exits 0 on `podman stop`.
 */
import { readFileSync } from "node:fs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBroker } from "../../functions/broker/local-server.ts";
import type { QueuedEventMessage, QueuedMessage } from "../../shared/contracts.ts";
import { receivedRef, type Simulator, startSimulator } from "../../sim/index.ts";
import { freePort } from "../../tools/free-port.ts";
import type { DynaliteServer } from "../../tools/local/dynalite-server.ts";
import { ConfigError, loadWorkerConfig } from "../../worker/config.ts";
import { waitFor } from "../support/wait-for.ts";
import { startBrokerOnDynalite } from "../worker/integration/broker-on-dynalite.ts";
import { TEST_CREDENTIALS } from "../worker/integration/harness.ts";
import { type SwitchableProxy, startProxy } from "../worker/integration/tcp-proxy.ts";
import { healthStats } from "../worker/integration/worker-process.ts";
import { parseDockerfile } from "../worker/unit/dockerfile.ts";
import {
  envOptions,
  type ImageConfig,
  imageConfig,
  imageEnv,
  imageUnderTest,
  taskLikeOptions,
} from "./container.ts";

const target = imageUnderTest();
const p = target.podman;
const names: string[] = [];
let config: ImageConfig;
let sim: Simulator | undefined;
let broker: LocalBroker | undefined;
let dynalite: DynaliteServer | undefined;
let fauxqs: FauxqsServer | undefined;
let proxy: SwitchableProxy | undefined;

function containerName(): string {
  const name = `tokenstream-image-test-${process.pid}-${names.length}`;
  names.push(name);
  return name;
}

beforeAll(async () => {
  config = await imageConfig(target);
});

afterAll(async () => {
  for (const name of names) await p.run(["rm", "--force", "--volumes", "--time", "0", name]);
  await sim?.close();
  await broker?.close();
  await dynalite?.stop();
  await proxy?.close();
  await fauxqs?.stop();
});

describe("the worker image", () => {
  it("is configured as worker/Dockerfile declares: user node, its VOLUMEs, the bundle as an exec-form CMD", () => {
    const final = parseDockerfile().at(-1)!;
    const declared = final.instructions
      .filter((i) => i.op === "VOLUME")
      .flatMap((v) => JSON.parse(v.args) as string[]);
    const cmd = JSON.parse(final.instructions.find((i) => i.op === "CMD")!.args) as string[];
    expect(config.User).toBe("node");
    expect(Object.keys(config.Volumes ?? {}).sort()).toEqual([...declared].sort());
    expect(config.Cmd).toEqual(cmd);
    // The base image's entrypoint execs the command, so node (not a shell) is the init process's child.
    expect(config.Entrypoint).toEqual(["docker-entrypoint.sh"]);
    expect(imageEnv(config).SPOOL_DIR).toBeDefined();
  });

  it("with no configuration exits 2 and lists every problem worker/config.ts finds", async () => {
    let expected: string[] = [];
    try {
      loadWorkerConfig(imageEnv(config));
    } catch (e) {
      if (e instanceof ConfigError) expected = e.problems;
    }
    expect(expected.length).toBeGreaterThanOrEqual(5);
    const name = containerName();
    const r = await p.run(["run", "--name", name, ...taskLikeOptions(config), target.image]);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(2);
    expect(out).toContain("invalid worker configuration");
    for (const problem of expected) expect(out).toContain(problem);
    for (const variable of [
      "TOPICS",
      "BROKER_URL",
      "TOKEN_PROFILE",
      "QUEUE_URL",
      "AWS_REGION",
      "GENESYS_ENV",
    ]) {
      expect(out).toContain(variable);
    }
  });

  it("runs as uid 1000 on a read-only root, goes live, delivers, spools while SQS is down, and exits 0 on podman stop", async () => {
    const s = await startSimulator({ host: "127.0.0.1", port: 0, heartbeatIntervalMs: 50, seed: 14 });
    sim = s;
    const issued: string[] = [];
    ({ broker, dynalite } = await startBrokerOnDynalite(s, {
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        try {
          const token = ((await res.clone().json()) as { access_token?: unknown }).access_token;
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
    const queued = (): QueuedMessage[] =>
      (fauxqs?.inspectQueue("events.fifo")?.messages.ready ?? []).map(
        (m) => JSON.parse(m.body) as QueuedMessage,
      );
    const events = () => queued().filter((m): m is QueuedEventMessage => m.kind === "event");
    const healthPort = await freePort();
    const shutdownTimeoutMs = 5_000;
    const spoolDir = imageEnv(config).SPOOL_DIR!;
    const name = containerName();
    await p.ok([
      "run",
      "--detach",
      "--name",
      name,
      ...taskLikeOptions(config),
      ...envOptions({
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
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
        HEARTBEAT_TIMEOUT_MS: "1000",
        BACKOFF_BASE_MS: "20",
        BACKOFF_CAP_MS: "200",
        LOG_LEVEL: "INFO",
        POWERTOOLS_METRICS_DISABLED: "true",
      }),
      target.image,
    ]);
    const logs = async () => {
      const r = await p.run(["logs", name]);
      return r.stdout + r.stderr;
    };
    const inContainer = async (script: string, ...args: string[]) => {
      const r = await p.run(["exec", name, "node", "-e", script, ...args]);
      return { code: r.code, out: (r.stdout + r.stderr).trim() };
    };

    const withLogs = async (wait: Promise<void>) => {
      try {
        await wait;
      } catch (e) {
        throw new Error(`${e instanceof Error ? e.message : String(e)}\n${(await logs()).slice(-3_000)}`);
      }
    };
    await withLogs(
      waitFor(async () => (await healthStats(healthPort))?.liveSessions === 2, 20_000, "two live sessions"),
    );
    // The worker process itself (not just the image's USER line) runs as uid 1000 as the init's direct child
    // (the entrypoint exec'd it: no shell in between to swallow SIGTERM), and / is read-only.
    const worker = await inContainer(
      readFileSync(new URL("./inspect-process.cjs", import.meta.url), "utf8"),
      JSON.stringify(config.Cmd),
    );
    expect(worker.code, worker.out).toBe(0);
    const found = JSON.parse(worker.out) as { pid: string; uid: string; ppid: string; root: string };
    expect(found.pid).not.toBe("1");
    expect(found.ppid).toBe("1");
    expect(found.uid).toBe("1000");
    expect(found.root).toBe("EROFS");

    for (let i = 0; i < 20; i++) s.publish(i % 2 === 0 ? "t.alpha" : "t.beta");
    await waitFor(() => events().length === 20, 30_000, "20 events queued");

    proxy.down();
    // What is in flight when SQS goes away stays in memory; what arrives once the sink knows is spooled.
    for (let i = 0; i < 10; i++) s.publish("t.alpha");
    await waitFor(
      async () => (await healthStats(healthPort))?.sinkHealthy === false,
      30_000,
      "the sink to see SQS down",
    );
    for (let i = 0; i < 30; i++) s.publish("t.beta");
    const spooled = async () => {
      const r = await inContainer(
        `const fs = require("fs"); let n = 0;
         for (const f of fs.readdirSync(${JSON.stringify(spoolDir)})) n += fs.statSync(${JSON.stringify(spoolDir)} + "/" + f).size;
         console.log(n);`,
      );
      if (r.code !== 0) throw new Error(`reading ${spoolDir} in the container failed: ${r.out}`);
      return Number(r.out);
    };
    await withLogs(waitFor(async () => (await spooled()) > 0, 30_000, `events spooled under ${spoolDir}`));
    expect(events()).toHaveLength(20);

    proxy.up();
    await waitFor(() => events().length === 60, 60_000, "the spooled events delivered");
    const refs = events().map((m) => receivedRef(m.event));
    expect(s.ledger.missingFrom(refs, { onlyDelivered: true })).toEqual([]);
    expect(new Set(refs.map((r) => `${r.topicName}:${r.sequence}`)).size).toBe(60);

    // podman stop: SIGTERM, then SIGKILL (exit 137) if the worker is still running after --time seconds.
    const stopAfterSec = shutdownTimeoutMs / 1000 + 5;
    await p.ok(["stop", "--time", String(stopAfterSec), name]);
    const state = JSON.parse(await p.ok(["inspect", "--format", "{{json .State}}", name])) as {
      ExitCode: number;
      OOMKilled: boolean;
    };
    const out = await logs();
    expect(state.ExitCode, out.slice(-3_000)).toBe(0);
    expect(out).toContain('"message":"shutdown complete"');
    expect(issued.length).toBeGreaterThan(0);
    for (const token of issued) expect(out.includes(token)).toBe(false);
  });
});
