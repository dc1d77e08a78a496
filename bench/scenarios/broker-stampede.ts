/**
 * Broker stampede: 10 broker instances (each its own module graph, SDK clients and memory, like separate
 * Lambda containers) share one moto server (Secrets Manager + DynamoDB) and the simulator's OAuth endpoint.
 * Each rotation jumps the shared clock to the exact expiry of the current token and fires 1,000 concurrent
 * `GET /token` (100 per instance), then 100 concurrent `POST /token/refresh` reporting that new token as
 * rejected. The simulator counts the identity-provider calls each stampede caused (goal: 1).
 * Latencies are per call, in process, on warm instances; every hand-out includes its audit PutItem (the
 * broker fails closed without it), so on moto they mostly measure moto's write queue. `steady*` is the same
 * 1,000-call load served from memory without an expiry, for comparison.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { tsImport } from "tsx/esm/api";
import { CountingMetrics } from "../../functions/broker/adapters/powertools.ts";
import type * as Composition from "../../functions/broker/composition.ts";
import { loadBrokerConfig } from "../../functions/broker/config.ts";
import type { FunctionUrlEvent, FunctionUrlResult } from "../../functions/broker/core/events.ts";
import { type BrokerLog, type Clock, realClock } from "../../functions/broker/core/ports.ts";
import type { BrokerErrorResponse, BrokerTokenResponse } from "../../shared/contracts.ts";
import { startSimulator } from "../../sim/index.ts";
import { createBrokerResources } from "../support/broker-resources.ts";
import { CALLER, getToken, refreshToken } from "../support/function-url-events.ts";
import { startMotoServer } from "../support/moto-server.ts";

export interface BrokerStampedeOptions {
  instances?: number;
  /** Concurrent `GET /token` per instance per rotation (total = instances x this). */
  getsPerInstance?: number;
  /** Concurrent `POST /token/refresh` per instance per refresh stampede. */
  refreshesPerInstance?: number;
  rotations?: number;
}

const CLIENT = { clientId: "bench-broker", clientSecret: "bench-broker-secret" };
const LIFETIME_S = 3600;
const AWS = { region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } };

/** Real time shifted by `offsetMs`: every instance reaches "the moment of expiry" at once. */
class OffsetClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  sleep(ms: number): Promise<void> {
    return realClock.sleep(ms);
  }
}

/** Discards log lines (1,000s per stampede) but counts warnings and errors for the report. */
class CountingLog implements BrokerLog {
  warnings = 0;
  errors = 0;
  debug(): void {}
  info(): void {}
  warn(): void {
    this.warnings++;
  }
  error(): void {
    this.errors++;
  }
}

interface Instance {
  handle(event: FunctionUrlEvent): Promise<FunctionUrlResult>;
  metrics: CountingMetrics;
}

interface Timed {
  result: FunctionUrlResult;
  ms: number;
}

export async function runBrokerStampede(
  options: BrokerStampedeOptions = {},
): Promise<Record<string, number>> {
  const instanceCount = options.instances ?? 10;
  const getsPerInstance = options.getsPerInstance ?? 100;
  const refreshesPerInstance = options.refreshesPerInstance ?? 10;
  const rotations = options.rotations ?? 5;

  const moto = await startMotoServer();
  const sim = await startSimulator({ clients: [{ ...CLIENT, tokenLifetimeSec: LIFETIME_S }] });
  try {
    const admin = {
      dynamo: new DynamoDBClient({ ...AWS, endpoint: moto.endpoint }),
      secretsManager: new SecretsManagerClient({ ...AWS, endpoint: moto.endpoint }),
    };
    const resources = await createBrokerResources(admin, {
      prefix: "bench-stampede",
      loginUrl: sim.loginUrl,
      ...CLIENT,
    });
    const config = loadBrokerConfig({
      // The stampede caller is the one principal allowed this profile (per-profile authorization).
      // One lane: the stampede measures single flight on the lane every GET without `lane` asks for.
      PROFILES: JSON.stringify([{ ...resources.profile, allowedPrincipals: [CALLER.userArn], lanes: 1 }]),
      AUDIT_TABLE: resources.auditTable,
      LEASE_TABLE: resources.leaseTable,
      LEASE_MS: "10000",
    });
    const clock = new OffsetClock();
    const log = new CountingLog();
    const instances: Instance[] = [];
    const compositionUrl = new URL("../../functions/broker/composition.ts", import.meta.url).href;
    for (let i = 0; i < instanceCount; i++) {
      // tsImport loads the module graph afresh (its own tsx namespace): nothing shared in module scope.
      const { composeBroker } = (await tsImport(compositionUrl, import.meta.url)) as typeof Composition;
      const metrics = new CountingMetrics();
      const { broker } = composeBroker(config, {
        secretsManager: new SecretsManagerClient({ ...AWS, endpoint: moto.endpoint }),
        dynamo: new DynamoDBClient({ ...AWS, endpoint: moto.endpoint }),
        clock,
        log,
        metrics,
        instanceId: `bench-${i}`,
        settings: { pollIntervalMs: 50 },
      });
      instances.push({
        handle: async (event) => (await broker.handle(event)) as FunctionUrlResult,
        metrics,
      });
    }
    const profile = resources.profile.name;

    /** `perInstance` concurrent calls on every instance, all started before any completes. */
    const fire = async (event: () => FunctionUrlEvent, perInstance: number): Promise<Timed[]> => {
      const calls: Promise<Timed>[] = [];
      for (let n = 0; n < perInstance; n++) {
        for (const instance of instances) {
          const started = performance.now();
          calls.push(
            instance.handle(event()).then((result) => ({ result, ms: performance.now() - started })),
          );
        }
      }
      return Promise.all(calls);
    };

    // Warm: every instance has read the token into memory and opened its connections.
    let current = singleToken(await fire(() => getToken(profile), 1), "warm-up");
    singleToken(await fire(() => getToken(profile), 10), "warm-up");
    // The same load without an expiry (every instance serves from memory): the stampede's baseline.
    const steady = await fire(() => getToken(profile), getsPerInstance);
    singleToken(steady, "steady load");
    const steadyLatencies = steady.map((s) => s.ms);

    const getLatencies: number[] = [];
    const refreshLatencies: number[] = [];
    const idpPerRotation: number[] = [];
    const idpPerRefresh: number[] = [];
    for (let r = 0; r < rotations; r++) {
      clock.offsetMs = Date.parse(current.expiresAt) - Date.now();
      let before = sim.counters.tokenRequests;
      const gets = await fire(() => getToken(profile), getsPerInstance);
      idpPerRotation.push(sim.counters.tokenRequests - before);
      const rotated = singleToken(gets, `rotation ${r + 1}`);
      if (rotated.version === current.version) throw new Error(`rotation ${r + 1} served the expired token`);
      getLatencies.push(...gets.map((g) => g.ms));

      before = sim.counters.tokenRequests;
      const refreshes = await fire(() => refreshToken(profile, rotated.fingerprint), refreshesPerInstance);
      idpPerRefresh.push(sim.counters.tokenRequests - before);
      current = singleToken(refreshes, `refresh stampede ${r + 1}`);
      if (current.fingerprint === rotated.fingerprint) {
        throw new Error(`refresh stampede ${r + 1} returned the rejected token`);
      }
      refreshLatencies.push(...refreshes.map((x) => x.ms));
    }

    const total = (name: Parameters<CountingMetrics["get"]>[0]) =>
      instances.reduce((sum, instance) => sum + instance.metrics.get(name), 0);
    return {
      "broker.idpCallsPerRotation": Math.max(...idpPerRotation),
      "broker.idpCallsPerRefreshStampede": Math.max(...idpPerRefresh),
      "broker.concurrentRequests": instanceCount * getsPerInstance,
      "broker.concurrentRefreshes": instanceCount * refreshesPerInstance,
      "broker.instances": instanceCount,
      "broker.rotations": rotations,
      "broker.p50Ms": round1(percentile(getLatencies, 0.5)),
      "broker.p99Ms": round1(percentile(getLatencies, 0.99)),
      "broker.maxMs": round1(Math.max(...getLatencies)),
      "broker.steadyP50Ms": round1(percentile(steadyLatencies, 0.5)),
      "broker.steadyP99Ms": round1(percentile(steadyLatencies, 0.99)),
      "broker.refreshP50Ms": round1(percentile(refreshLatencies, 0.5)),
      "broker.refreshP99Ms": round1(percentile(refreshLatencies, 0.99)),
      "broker.leaseLosses": total("LeaseLost"),
      "broker.mints": total("Mints"),
      "broker.errorLogLines": log.errors,
    };
  } finally {
    await sim.close();
    await moto.stop();
  }
}

/** Every call answered 200 with the same token; that token (no value, only its public fields). */
function singleToken(calls: Timed[], what: string): Omit<BrokerTokenResponse, "accessToken"> {
  const failures = calls.filter((c) => c.result.statusCode !== 200);
  if (failures.length > 0) {
    const codes = failures.map(
      (f) => `${f.result.statusCode} ${(JSON.parse(f.result.body) as BrokerErrorResponse).error?.code}`,
    );
    throw new Error(`${what}: ${failures.length}/${calls.length} failed (${[...new Set(codes)].join(", ")})`);
  }
  const tokens = calls.map((c) => JSON.parse(c.result.body) as BrokerTokenResponse);
  const versions = new Set(tokens.map((t) => t.version));
  if (versions.size !== 1) throw new Error(`${what}: ${versions.size} different token versions handed out`);
  const { expiresAt, fingerprint, version } = tokens[0] as BrokerTokenResponse;
  return { expiresAt, fingerprint, version };
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
