/**
 * The worker's broker token source against the real broker core (local HTTP adapter, dynalite for its lease
 * and audit tables) and the simulator's identity provider: each worker's two sessions hold the profile's two
 * token lanes (distinct tokens, one GET per lane per worker), and when the upstream refuses the tokens (4001 /
 * 1008 close, REST 401) every session reports its lane's fingerprint to the compare-and-swap refresh, and the
 * identity provider is called exactly once per lane.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterEach, describe, expect, it } from "vitest";
import type { LocalBroker } from "../../../functions/broker/local-server.ts";
import { type Simulator, startSimulator } from "../../../sim/index.ts";
import type { DynaliteServer } from "../../../tools/local/dynalite-server.ts";
import { type RunningWorker, startWorker } from "../../../worker/app.ts";
import type { WorkerConfig } from "../../../worker/config.ts";
import { BrokerTokenSource } from "../../../worker/token/broker-token-source.ts";
import { waitFor } from "../../support/wait-for.ts";
import { startBrokerOnDynalite } from "./broker-on-dynalite.ts";
import { TEST_CREDENTIALS } from "./harness.ts";

process.env.POWERTOOLS_METRICS_DISABLED = "true";

interface BrokerCall {
  worker: number;
  /** The token lane a GET asked for (no `lane` parameter = lane 0). */
  lane: number;
  method: string;
  path: string;
  body: string | undefined;
}

let sim: Simulator | undefined;
let dynalite: DynaliteServer | undefined;
let broker: LocalBroker | undefined;
let fauxqs: FauxqsServer | undefined;
const workers: RunningWorker[] = [];
const spools: string[] = [];

afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(Date.now() + 3_000);
  await broker?.close();
  await dynalite?.stop();
  await sim?.close();
  await fauxqs?.stop();
  for (const d of spools.splice(0)) rmSync(d, { recursive: true, force: true });
  sim = dynalite = broker = fauxqs = undefined;
});

async function setup(source: "genesys" | "generic", genericCloseCode: 4001 | 1008 = 4001) {
  const s = await startSimulator({ host: "127.0.0.1", port: 0, heartbeatIntervalMs: 50, genericCloseCode });
  sim = s;
  ({ broker, dynalite } = await startBrokerOnDynalite(s));
  const brokerUrl = broker.url;
  fauxqs = await startFauxqs({ port: 0, logger: false });
  const { queueUrl } = fauxqs.createQueue("events.fifo", { attributes: { FifoQueue: "true" } });
  const calls: BrokerCall[] = [];
  const sources: BrokerTokenSource[] = [];
  for (const n of [0, 1]) {
    const spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-broker-"));
    spools.push(spoolDir);
    const config: WorkerConfig = {
      sourceKind: source,
      apiUrl: s.apiUrl,
      loginUrl: undefined,
      genericStreamUrl: s.genericStreamUrl,
      genericTokenPlacement: "header",
      topics: ["t.a"],
      redundancy: 2,
      tokenSource: { kind: "broker", brokerUrl, profile: "main" },
      queueUrl,
      region: "us-east-1",
      awsEndpointUrl: fauxqs.address,
      healthPort: 0,
      spoolDir,
      offloadBucket: undefined,
      shutdownTimeoutMs: 5_000,
      heartbeatTimeoutMs: 400,
      backoffBaseMs: 20,
      backoffCapMs: 200,
      minSessionLifeMs: 100,
      metricsIntervalMs: 3_600_000,
      logLevel: "SILENT",
    };
    const tokenSource = new BrokerTokenSource({
      brokerUrl,
      profile: "main",
      region: "us-east-1",
      credentials: TEST_CREDENTIALS,
      fetch: async (input, init) => {
        const url = new URL(String(input));
        calls.push({
          worker: n,
          lane: Number(url.searchParams.get("lane") ?? 0),
          method: init?.method ?? "GET",
          path: url.pathname,
          body: typeof init?.body === "string" ? init.body : undefined,
        });
        return fetch(input, init);
      },
    });
    sources.push(tokenSource);
    const sqs = new SQSClient({
      region: "us-east-1",
      endpoint: fauxqs.address,
      credentials: TEST_CREDENTIALS,
    });
    workers.push(await startWorker(config, { sqs, tokenSource, health: false }));
  }
  return { sim: s, calls, sources };
}

const allLive = () => workers.every((w) => w.stats().liveSessions === 2);

describe.each([
  ["generic stream, close 4001", "generic", 4001],
  ["generic stream, close 1008", "generic", 1008],
  ["genesys channels, REST 401 on the refused token", "genesys", 4001],
] as const)("token refused upstream (%s)", (_name, source, closeCode) => {
  it("two workers x two sessions: one compare-and-swap refresh per lane reaches the identity provider", async () => {
    const { sim: s, calls, sources } = await setup(source, closeCode);
    await waitFor(allLive, 10_000, "4 sessions live");
    // Cached: one GET per worker and token lane (a slot each), one identity-provider call per lane.
    const gets = calls.filter((c) => c.method === "GET");
    expect(gets.map((c) => `${c.worker}:${c.lane}`).sort()).toEqual(["0:0", "0:1", "1:0", "1:1"]);
    expect(s.counters.tokenRequests).toBe(2);
    const refused = [0, 1].map((lane) => sources[0]!.current(lane));
    const [zero, one] = await Promise.all(refused);
    expect(one!.fingerprint).not.toBe(zero!.fingerprint); // redundant sessions never share a token
    expect((await sources[1]!.current(0)).fingerprint).toBe(zero!.fingerprint);
    expect((await sources[1]!.current(1)).fingerprint).toBe(one!.fingerprint);

    s.faults.expireAllTokens();
    await waitFor(() => workers.every((w) => w.stats().liveSessions === 0), 5_000, "sessions refused");
    await waitFor(allLive, 10_000, "4 sessions live again");

    expect(s.counters.tokenRequests).toBe(4); // no 401 storm: one mint per lane for 4 refused sessions
    const refreshes = calls.filter((c) => c.method === "POST");
    expect(refreshes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(refreshes.map((c) => c.worker))).toEqual(new Set([0, 1]));
    for (const r of refreshes) {
      expect(r.path).toBe("/token/refresh");
      const sent = JSON.parse(r.body ?? "{}") as { lane?: number };
      const lane = sent.lane ?? 0;
      expect(sent).toMatchObject({ profile: "main", rejectedFingerprint: [zero, one][lane]!.fingerprint });
    }
    expect(
      new Set(refreshes.map((r) => (JSON.parse(r.body ?? "{}") as { lane?: number }).lane ?? 0)),
    ).toEqual(new Set([0, 1]));
    const fresh = await Promise.all([0, 1].map((lane) => sources[0]!.current(lane)));
    expect(fresh[0]!.fingerprint).not.toBe(zero!.fingerprint);
    expect(fresh[1]!.fingerprint).not.toBe(one!.fingerprint);
    expect(fresh[1]!.fingerprint).not.toBe(fresh[0]!.fingerprint);
    expect((await sources[1]!.current(0)).fingerprint).toBe(fresh[0]!.fingerprint);
    expect((await sources[1]!.current(1)).fingerprint).toBe(fresh[1]!.fingerprint);
    expect(workers.every((w) => w.stats().tokenRefreshes >= 1)).toBe(true);
    // Still cached: no further GETs after the refresh.
    expect(calls.filter((c) => c.method === "GET")).toHaveLength(4);
  });
});
