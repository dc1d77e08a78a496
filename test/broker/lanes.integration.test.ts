/**
 * Token lanes against moto (Secrets Manager, DynamoDB) and the simulator's OAuth endpoint: each lane of a
 * profile lives in its own secret (lane 0 by ARN as before, lane n by its derived name), is minted under its own
 * lease, audited with its lane, and rotated by the schedule at a stagger point relative to lane 0.
 */
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { FunctionUrlResult } from "../../functions/broker/core/events.ts";
import type { ScheduledRefreshSummary } from "../../functions/broker/core/scheduled-refresh.ts";
import type { BrokerProfile, BrokerTokenResponse } from "../../shared/contracts.ts";
import { laneTokenSecretName } from "../../shared/token-lanes.ts";
import type { Simulator } from "../../sim/index.ts";
import { startSimulator } from "../../sim/index.ts";
import {
  awsClients,
  type BrokerTables,
  createBrokerTables,
  createProfile,
  LANE_SECRET_PREFIX,
  motoEndpoint,
  scanAudit,
} from "./support/aws.ts";
import { brokerConfig, brokerInstance, OffsetClock } from "./support/broker-env.ts";
import { CALLER, urlEvent } from "./support/events.ts";
import { LeakGuard } from "./support/leak-guard.ts";

const CLIENT = { clientId: "lanes-client", clientSecret: "lanes-secret" };
const HOUR = 3_600_000;

const body = (r: FunctionUrlResult) => JSON.parse(r.body) as BrokerTokenResponse;
const get = (profile: string, lane?: number) =>
  urlEvent("GET", "/token", { query: lane === undefined ? { profile } : { profile, lane: String(lane) } });
const refresh = (profile: string, rejectedFingerprint: string, lane: number) =>
  urlEvent("POST", "/token/refresh", { body: JSON.stringify({ profile, rejectedFingerprint, lane }) });

describe("token lanes against moto + the simulator's OAuth endpoint", () => {
  const guard = new LeakGuard();
  const { secretsManager, dynamo } = awsClients();
  let sim: Simulator;
  let tables: BrokerTables;

  beforeAll(async () => {
    guard.capture();
    guard.note(CLIENT.clientSecret);
    sim = await startSimulator({ clients: [{ ...CLIENT, tokenLifetimeSec: 3600 }] });
    tables = await createBrokerTables(dynamo, "lanes");
  });
  afterAll(async () => {
    guard.stop();
    await sim?.close();
  });

  const newProfile = () => createProfile(secretsManager, { loginUrl: sim.loginUrl, ...CLIENT, lanes: 2 });
  const secretFingerprint = async (secretId: string) =>
    (
      JSON.parse(
        (await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString ?? "{}",
      ) as {
        fingerprint?: string;
      }
    ).fingerprint;
  const auditOf = async (profile: BrokerProfile) =>
    (await scanAudit(dynamo, tables.auditTable)).filter((r) => r.profile === profile.name);

  it("the Lambda entry serves each lane its own token from its own secret, and audits the lane", async () => {
    const profile = await newProfile();
    const saved = { ...process.env };
    Object.assign(process.env, {
      PROFILES: JSON.stringify([{ ...profile, allowedPrincipals: [CALLER.userArn] }]),
      TOKEN_SECRET_NAME_PREFIX: LANE_SECRET_PREFIX,
      AUDIT_TABLE: tables.auditTable,
      LEASE_TABLE: tables.leaseTable,
      AWS_ENDPOINT_URL: motoEndpoint(),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    try {
      vi.resetModules();
      const { handler } = await import("../../functions/broker/url-handler.ts");
      const call = async (event: unknown) => {
        const result = (await handler(event)) as FunctionUrlResult;
        if (result.statusCode === 200) guard.note(body(result).accessToken);
        return result;
      };
      const before = sim.counters.tokenRequests;
      const zero = body(await call(get(profile.name)));
      const one = body(await call(get(profile.name, 1)));
      expect(one.fingerprint).not.toBe(zero.fingerprint);
      expect(await secretFingerprint(profile.tokenSecretArn)).toBe(zero.fingerprint);
      const laneSecret = laneTokenSecretName(LANE_SECRET_PREFIX, profile.name, 1);
      expect(await secretFingerprint(laneSecret)).toBe(one.fingerprint);

      // Compare-and-swap on lane 1 replaces lane 1's secret only.
      const swapped = body(await call(refresh(profile.name, one.fingerprint, 1)));
      expect(swapped.fingerprint).not.toBe(one.fingerprint);
      expect(await secretFingerprint(laneSecret)).toBe(swapped.fingerprint);
      expect(await secretFingerprint(profile.tokenSecretArn)).toBe(zero.fingerprint);
      expect(sim.counters.tokenRequests - before).toBe(3);

      const refused = await call(get(profile.name, 2));
      expect(refused.statusCode).toBe(400);
      expect(sim.counters.tokenRequests - before).toBe(3);

      const audit = await auditOf(profile);
      expect(audit.map((r) => `${r.action}:${r.outcome}:${r.lane ?? "-"}`)).toEqual([
        "mint:success:0",
        "handout:success:0",
        "mint:success:1",
        "handout:success:1",
        "mint:success:1",
        "handout:success:1",
        "refusal:denied:-",
      ]);
      expect(audit[3]).toMatchObject({ fingerprint: one.fingerprint, secretVersion: one.version });
    } finally {
      process.env = saved;
      vi.resetModules();
    }
  });

  it("single flight per lane across three containers: 30 concurrent GETs of two lanes -> two mints", async () => {
    const profile = await newProfile();
    const config = brokerConfig([profile], tables, { laneSecretPrefix: LANE_SECRET_PREFIX });
    const instances = [0, 1, 2].map((i) => brokerInstance(config, guard, { instanceId: `lanes-${i}` }));
    const before = sim.counters.tokenRequests;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => instances[i % 3]!.call(get(profile.name, i % 2))),
    );
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    expect(sim.counters.tokenRequests - before).toBe(2);
    const byLane = [0, 1].map(
      (lane) => new Set(results.filter((_, i) => i % 2 === lane).map((r) => body(r).fingerprint)),
    );
    expect(byLane.map((s) => s.size)).toEqual([1, 1]);
    expect([...byLane[0]!][0]).not.toBe([...byLane[1]!][0]);
    const mints = (await auditOf(profile)).filter((r) => r.action === "mint");
    expect(mints.map((r) => r.lane).sort()).toEqual([0, 1]);
  });

  it("the schedule rotates lane 1 at its stagger point and lane 0 at its refresh point", async () => {
    const profile = await newProfile();
    const clock = new OffsetClock();
    const b = brokerInstance(
      brokerConfig([profile], tables, { laneSecretPrefix: LANE_SECRET_PREFIX }),
      guard,
      {
        clock,
      },
    );
    const run = async (id: string) => {
      const summary = (await b.broker.scheduledRefresh({ awsRequestId: id })) as ScheduledRefreshSummary;
      return summary.profiles.map((o) => `${o.lane}:${o.outcome}`);
    };
    expect(await run("s-0")).toEqual(["0:rotated", "1:rotated"]);
    clock.offsetMs = 0.3 * HOUR;
    expect(await run("s-1")).toEqual(["0:fresh", "1:fresh"]);
    // Lane 1's stagger point: half of lane 0's refresh interval (0.75 h) after lane 0 was issued.
    clock.offsetMs = 0.4 * HOUR;
    expect(await run("s-2")).toEqual(["0:fresh", "1:rotated"]);
    clock.offsetMs = 0.8 * HOUR;
    expect(await run("s-3")).toEqual(["0:rotated", "1:fresh"]);
    const rotations = (await auditOf(profile)).filter((r) => r.action === "rotation");
    expect(rotations.map((r) => `${r.requestId}:${r.lane}`)).toEqual(["s-0:0", "s-0:1", "s-2:1", "s-3:0"]);
    expect(rotations[2]?.detail).toMatch(/^scheduled \(lane stagger\); replaces [0-9a-f]{12}$/);
  });
});
