import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { FunctionUrlResult } from "../../functions/broker/core/events.ts";
import type { BrokerProfile, BrokerTokenResponse } from "../../shared/contracts.ts";
import type { Simulator } from "../../sim/index.ts";
import { startSimulator } from "../../sim/index.ts";
import {
  awsClients,
  type BrokerTables,
  createBrokerTables,
  createProfile,
  scanAudit,
} from "./support/aws.ts";
import { brokerConfig, OffsetClock } from "./support/broker-env.ts";
import { getToken, refreshToken } from "./support/events.ts";
import { LeakGuard } from "./support/leak-guard.ts";

const INSTANCES = 10;
const LIFETIME_S = 3600;
const CLIENT = { clientId: "stampede-client", clientSecret: "stampede-secret" };

type Instance = { handle(event: unknown): Promise<unknown> };

describe("single flight across 10 broker instances sharing moto", () => {
  const guard = new LeakGuard();
  const { secretsManager, dynamo } = awsClients();
  const clock = new OffsetClock();
  let sim: Simulator;
  let tables: BrokerTables;
  let profile: BrokerProfile;
  const instances: Instance[] = [];

  beforeAll(async () => {
    guard.capture();
    sim = await startSimulator({ clients: [{ ...CLIENT, tokenLifetimeSec: LIFETIME_S }] });
    tables = await createBrokerTables(dynamo, "stampede");
    profile = await createProfile(secretsManager, { loginUrl: sim.loginUrl, ...CLIENT });
    for (let i = 0; i < INSTANCES; i++) {
      // A separate module instance per "container": no state shared in module scope.
      vi.resetModules();
      const { composeBroker } = await import("../../functions/broker/composition.ts");
      const clients = awsClients();
      const { broker } = composeBroker(brokerConfig([profile], tables, { leaseMs: 10_000 }), {
        ...clients,
        clock,
        fetch: guard.fetch,
        settings: { pollIntervalMs: 50 },
      });
      instances.push(broker);
    }
  });
  afterAll(async () => {
    guard.stop();
    await sim?.close();
  });

  async function fire(events: (i: number) => unknown, perInstance: number): Promise<BrokerTokenResponse[]> {
    const calls: Promise<unknown>[] = [];
    for (let n = 0; n < perInstance; n++) {
      instances.forEach((instance, i) => {
        calls.push(instance.handle(events(i)));
      });
    }
    const results = (await Promise.all(calls)) as FunctionUrlResult[];
    const statuses = new Set(results.map((r) => r.statusCode));
    expect([...statuses]).toEqual([200]);
    return results.map((r) => JSON.parse(r.body) as BrokerTokenResponse);
  }

  it("1,000 concurrent GET /token at the moment of expiry -> exactly 1 identity-provider call", async () => {
    const warm = await fire(() => getToken(profile.name), 1);
    const old = warm[0]!;
    expect(new Set(warm.map((t) => t.version))).toEqual(new Set([old.version]));
    // Every instance holds the token in memory; now it expires for all of them at once.
    clock.offsetMs = LIFETIME_S * 1000;
    const before = sim.counters.tokenRequests;
    const tokens = await fire(() => getToken(profile.name), 100);
    expect(tokens).toHaveLength(1000);
    expect(sim.counters.tokenRequests - before).toBe(1);
    const versions = new Set(tokens.map((t) => t.version));
    expect(versions.size).toBe(1);
    expect(versions.has(old.version)).toBe(false);
    for (const t of tokens) guard.note(t.accessToken);
  });

  it("100 concurrent refreshes with the same rejected fingerprint -> exactly 1 identity-provider call", async () => {
    const current = (await fire(() => getToken(profile.name), 1))[0]!;
    const before = sim.counters.tokenRequests;
    const tokens = await fire(() => refreshToken(profile.name, current.fingerprint), 10);
    expect(tokens).toHaveLength(100);
    expect(sim.counters.tokenRequests - before).toBe(1);
    const fingerprints = new Set(tokens.map((t) => t.fingerprint));
    expect(fingerprints.size).toBe(1);
    expect(fingerprints.has(current.fingerprint)).toBe(false);
    for (const t of tokens) guard.note(t.accessToken);
  });

  it("audited every hand-out and each of the three mints; no token in any log line or audit item", async () => {
    guard.stop();
    const audit = await scanAudit(dynamo, tables.auditTable);
    const counts = new Map<string, number>();
    for (const item of audit) {
      const key = `${item.action}:${item.outcome}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({
      "mint:success": 3,
      "handout:success": 10 + 1000 + 10 + 100,
    });
    // The 1,120 hand-outs' log lines (Powertools JSON on stdout) and audit items, scanned for the three
    // issued tokens.
    expect(guard.tokens.size).toBe(3);
    expect(guard.lines.filter((l) => l.includes("token handed out")).length).toBeGreaterThanOrEqual(1120);
    const leaks = guard.findLeaks(
      audit.map((r, i) => ({ where: `audit item ${i}`, text: JSON.stringify(r) })),
    );
    expect(leaks).toEqual([]);
  });
});
