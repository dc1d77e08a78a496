import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientRequestToken, refreshSlot } from "../../functions/broker/core/client-request-token.ts";
import type { FunctionUrlResult } from "../../functions/broker/core/events.ts";
import { ScheduledRefreshError } from "../../functions/broker/core/scheduled-refresh.ts";
import type { BrokerErrorResponse, BrokerProfile, BrokerTokenResponse } from "../../shared/contracts.ts";
import { fingerprint } from "../../shared/fingerprint.ts";
import type { Simulator } from "../../sim/index.ts";
import { startSimulator } from "../../sim/index.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  awsClients,
  type BrokerTables,
  createBrokerTables,
  createProfile,
  motoEndpoint,
  scanAudit,
  throttledSecretsManager,
} from "./support/aws.ts";
import { brokerConfig, brokerInstance, OffsetClock } from "./support/broker-env.ts";
import { CALLER, getToken, refreshToken } from "./support/events.ts";
import { LeakGuard } from "./support/leak-guard.ts";

const CLIENT = { clientId: "broker-client", clientSecret: "broker-secret" };
const LIFETIME_S = 3600;
const HOUR = LIFETIME_S * 1000;

const body = (r: FunctionUrlResult) => JSON.parse(r.body) as BrokerTokenResponse;
const errorCode = (r: FunctionUrlResult) => (JSON.parse(r.body) as BrokerErrorResponse).error.code;

describe("broker against moto + the simulator's OAuth endpoint", () => {
  const guard = new LeakGuard();
  const { secretsManager, dynamo } = awsClients();
  let sim: Simulator;
  let tables: BrokerTables;

  beforeAll(async () => {
    process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
    guard.capture();
    // Client secrets are scanned for like issued tokens: neither may reach a log line or audit item.
    guard.note(CLIENT.clientSecret);
    guard.note("wrong-secret");
    sim = await startSimulator({ clients: [{ ...CLIENT, tokenLifetimeSec: LIFETIME_S }] });
    tables = await createBrokerTables(dynamo, "broker");
  });
  afterAll(async () => {
    guard.stop();
    await sim?.close();
  });

  const newProfile = (clientSecret = CLIENT.clientSecret) =>
    createProfile(secretsManager, { loginUrl: sim.loginUrl, clientId: CLIENT.clientId, clientSecret });
  const auditOf = async (profile: BrokerProfile) =>
    (await scanAudit(dynamo, tables.auditTable)).filter((r) => r.profile === profile.name);
  const actions = async (profile: BrokerProfile) =>
    (await auditOf(profile)).map((r) => `${r.action}:${r.outcome}${r.errorCode ? `:${r.errorCode}` : ""}`);

  it("the Lambda entries (url-handler.ts, refresh-handler.ts, env config) serve, swap and rotate", async () => {
    const profile = await newProfile();
    const { vi } = await import("vitest");
    const saved = { ...process.env };
    Object.assign(process.env, {
      PROFILES: JSON.stringify([{ ...profile, allowedPrincipals: [CALLER.userArn] }]),
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
      const { handler: refresh } = await import("../../functions/broker/refresh-handler.ts");
      const before = sim.counters.tokenRequests;
      const first = (await handler(getToken(profile.name))) as FunctionUrlResult;
      expect(first.statusCode).toBe(200);
      expect(first.headers["Cache-Control"]).toBe("no-store");
      const token = body(first);
      guard.note(token.accessToken);
      expect(token.fingerprint).toBe(fingerprint(token.accessToken));
      const cached = body((await handler(getToken(profile.name))) as FunctionUrlResult);
      expect(cached.version).toBe(token.version);
      const swapped = (await handler(refreshToken(profile.name, token.fingerprint))) as FunctionUrlResult;
      const next = body(swapped);
      guard.note(next.accessToken);
      expect(next.fingerprint).not.toBe(token.fingerprint);
      const scheduled = await refresh({ kind: "scheduled-refresh" }, { awsRequestId: "sched-entry" });
      expect(scheduled).toMatchObject({ profiles: [{ profile: profile.name, outcome: "fresh" }] });
      expect(sim.counters.tokenRequests - before).toBe(2);
      expect(await actions(profile)).toEqual([
        "mint:success",
        "handout:success",
        "handout:success",
        "mint:success",
        "handout:success",
      ]);
      // Every field the issue names, as DynamoDB holds it.
      const handout = (await auditOf(profile))[1]!;
      expect(handout).toMatchObject({
        pk: `profile#${profile.name}`,
        action: "handout",
        outcome: "success",
        profile: profile.name,
        callerArn: CALLER.userArn,
        callerAccount: CALLER.accountId,
        sourceIp: "203.0.113.7",
        fingerprint: token.fingerprint,
        secretVersion: token.version,
        expiresAt: token.expiresAt,
      });
      expect(handout.requestId).toMatch(/^req-/);
      expect(Date.now() - Date.parse(handout.time)).toBeLessThan(60_000);
      // TTL: AUDIT_RETENTION_DAYS defaults to 400.
      expect(handout.expiresAtEpoch).toBe(Math.floor(Date.parse(handout.time) / 1000) + 400 * 86_400);
    } finally {
      process.env = saved;
      vi.resetModules();
    }
  });

  it("the scheduled refresh rotates a token past 75% and the old version stays AWSPREVIOUS", async () => {
    const profile = await newProfile();
    const clock = new OffsetClock();
    const b = brokerInstance(brokerConfig([profile], tables), guard, { clock });
    const first = body(await b.call(getToken(profile.name)));
    clock.offsetMs = 0.8 * HOUR;
    const summary = await b.broker.handle({ kind: "scheduled-refresh" }, { awsRequestId: "sched-1" });
    expect(summary).toMatchObject({ profiles: [{ profile: profile.name, outcome: "rotated" }] });
    const after = body(await b.call(getToken(profile.name)));
    expect(after.version).not.toBe(first.version);
    // ClientRequestToken (= the new VersionId) is derived from profile + refresh slot, so a retried
    // rotation of the same version writes the same version instead of a second one.
    expect(after.version).toBe(clientRequestToken(profile.name, refreshSlot(first.version, 0)));
    const secret = await secretsManager.send(new GetSecretValueCommand({ SecretId: profile.tokenSecretArn }));
    const stored = JSON.parse(secret.SecretString ?? "{}") as Record<string, string>;
    expect(Object.keys(stored).sort()).toEqual(["accessToken", "expiresAt", "fingerprint", "issuedAt"]);
    expect(stored).toMatchObject({ expiresAt: after.expiresAt, fingerprint: after.fingerprint });
    expect(Date.parse(stored.expiresAt!) - Date.parse(stored.issuedAt!)).toBe(HOUR);
    const audit = await auditOf(profile);
    const rotation = audit.find((r) => r.action === "rotation");
    expect(rotation).toMatchObject({
      outcome: "success",
      requestId: "sched-1",
      callerArn: "scheduler",
      secretVersion: after.version,
      fingerprint: after.fingerprint,
      detail: `scheduled; replaces ${first.fingerprint}`,
    });
  });

  it("the scheduled refresh rotates every due profile, leaves fresh ones, and reports a failing one", async () => {
    const due = await newProfile();
    const fresh = await newProfile();
    const broken = await newProfile("wrong-secret");
    const clock = new OffsetClock();
    const b = brokerInstance(brokerConfig([due, fresh, broken], tables), guard, { clock });
    const old = body(await b.call(getToken(due.name)));
    clock.offsetMs = 0.4 * HOUR;
    const kept = body(await b.call(getToken(fresh.name)));
    clock.offsetMs = 0.8 * HOUR;
    const before = sim.counters.tokenRequests;
    const error = await b.broker
      .handle({ kind: "scheduled-refresh" }, { awsRequestId: "sched-all" })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ScheduledRefreshError);
    const outcomes = (error as ScheduledRefreshError).summary.profiles;
    expect(outcomes).toEqual([
      expect.objectContaining({ profile: due.name, lane: 0, outcome: "rotated" }),
      {
        profile: fresh.name,
        lane: 0,
        outcome: "fresh",
        fingerprint: kept.fingerprint,
        version: kept.version,
      },
      { profile: broken.name, lane: 0, outcome: "failed", code: "idp_invalid_client" },
    ]);
    // One IdP call for the due profile, one refused for the broken one, none for the fresh one.
    expect(sim.counters.tokenRequests - before).toBe(2);
    expect(outcomes[0]).not.toMatchObject({ fingerprint: old.fingerprint });
    expect(await actions(due)).toEqual(["mint:success", "handout:success", "rotation:success"]);
    expect(await actions(fresh)).toEqual(["mint:success", "handout:success"]);
    expect(await actions(broken)).toEqual([
      "rotation:error:idp_invalid_client",
      "rotation:error:idp_invalid_client",
    ]);
  });

  describe("identity-provider faults: outcome and audit row", () => {
    it("429 with Retry-After: waits, then succeeds", async () => {
      const profile = await newProfile();
      const b = brokerInstance(brokerConfig([profile], tables), guard);
      sim.faults.oauth.next(1, { status: 429, retryAfterSec: 1 });
      const before = sim.counters.tokenRequests;
      const started = Date.now();
      const res = await b.call(getToken(profile.name));
      expect(res.statusCode).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(sim.counters.tokenRequests - before).toBe(2);
      expect(await actions(profile)).toEqual(["mint:success", "handout:success"]);
    });

    it("429 with a Retry-After beyond the cap: 503 idp_unavailable", async () => {
      const profile = await newProfile();
      const b = brokerInstance(brokerConfig([profile], tables), guard);
      sim.faults.oauth.next(1, { status: 429, retryAfterSec: 120 });
      const res = await b.call(getToken(profile.name));
      expect(res.statusCode).toBe(503);
      expect(errorCode(res)).toBe("idp_unavailable");
      const audit = await auditOf(profile);
      expect(audit.map((r) => `${r.action}:${r.errorCode}`)).toEqual([
        "mint:idp_unavailable",
        "failure:idp_unavailable",
      ]);
      expect(audit[0]?.detail).toContain("rate_limited");
    });

    it("500s are retried with backoff; persistent 500s end in 503", async () => {
      const profile = await newProfile();
      const b = brokerInstance(brokerConfig([profile], tables), guard);
      sim.faults.oauth.next(2, { status: 500 });
      expect((await b.call(getToken(profile.name))).statusCode).toBe(200);

      const failing = await newProfile();
      const c = brokerInstance(brokerConfig([failing], tables), guard);
      sim.faults.oauth.next(4, { status: 503 });
      const before = sim.counters.tokenRequests;
      const res = await c.call(getToken(failing.name));
      expect(res.statusCode).toBe(503);
      expect(sim.counters.tokenRequests - before).toBe(4);
      expect(await actions(failing)).toEqual(["mint:error:idp_unavailable", "failure:error:idp_unavailable"]);
    });

    it("a timeout per attempt ends in 503 idp_unavailable", async () => {
      const profile = await newProfile();
      const b = brokerInstance(brokerConfig([profile], tables, { idpTimeoutMs: 200 }), guard, {
        idp: { maxAttempts: 2, baseBackoffMs: 10, maxBackoffMs: 20 },
      });
      sim.faults.oauth.next(2, { kind: "slow", delayMs: 1500 });
      const res = await b.call(getToken(profile.name));
      expect(res.statusCode).toBe(503);
      const audit = await auditOf(profile);
      expect(audit[0]).toMatchObject({ action: "mint", errorCode: "idp_unavailable" });
      expect(audit[0]?.detail).toContain("no answer within 200 ms");
    });

    it("a garbage 200 body is a typed failure, not a crash", async () => {
      const profile = await newProfile();
      const b = brokerInstance(brokerConfig([profile], tables), guard);
      sim.faults.oauth.next(1, { kind: "garbage" });
      const res = await b.call(getToken(profile.name));
      expect(res.statusCode).toBe(503);
      expect((await auditOf(profile))[0]?.detail).toContain("malformed_response");
    });

    it("invalid_client (wrong secret) is permanent: 502, one IdP call, then a fast-failing cool-down", async () => {
      const profile = await newProfile("wrong-secret");
      const b = brokerInstance(brokerConfig([profile], tables), guard);
      const other = brokerInstance(brokerConfig([profile], tables), guard);
      const before = sim.counters.tokenRequests;
      const res = await b.call(getToken(profile.name));
      expect(res.statusCode).toBe(502);
      expect(errorCode(res)).toBe("idp_invalid_client");
      const again = await other.call(getToken(profile.name));
      expect(errorCode(again)).toBe("idp_invalid_client");
      expect(sim.counters.tokenRequests - before).toBe(1);
      expect(await actions(profile)).toEqual([
        "mint:error:idp_invalid_client",
        "failure:error:idp_invalid_client",
        "failure:error:idp_invalid_client",
      ]);
      expect(res.body).not.toContain("wrong-secret");
    });

    it("while minting fails, a still-valid cached token keeps being served", async () => {
      const profile = await newProfile();
      const clock = new OffsetClock();
      const config = brokerConfig([profile], tables, { refreshAtFraction: 0.5, minValidityFraction: 0.25 });
      const b = brokerInstance(config, guard, { clock });
      const first = body(await b.call(getToken(profile.name)));
      clock.offsetMs = 0.6 * HOUR;
      sim.faults.oauth.next(4, { status: 500 });
      const res = await b.call(getToken(profile.name));
      expect(res.statusCode).toBe(200);
      expect(body(res).fingerprint).toBe(first.fingerprint);
      const audit = await auditOf(profile);
      expect(audit.slice(2).map((r) => `${r.action}:${r.outcome}:${r.errorCode}`)).toEqual([
        "mint:error:idp_unavailable",
        "handout:success:idp_unavailable",
      ]);
      // Past the minimum validity the old token is no longer handed out.
      clock.offsetMs = 0.8 * HOUR;
      sim.faults.oauth.next(4, { status: 500 });
      const other = brokerInstance(config, guard, { clock });
      const refused = await other.call(getToken(profile.name));
      expect(refused.statusCode).toBe(503);
      sim.faults.oauth.clear();
    });
  });

  describe("AWS faults", () => {
    it("Secrets Manager throttling: serves a usable token from memory, else 503 token_unavailable", async () => {
      const profile = await newProfile();
      const clock = new OffsetClock();
      const config = brokerConfig([profile], tables, { refreshAtFraction: 0.5, minValidityFraction: 0.25 });
      let throttle = false;
      const throttled = throttledSecretsManager((command) => throttle && command === "GetSecretValueCommand");
      const b = brokerInstance(config, guard, { clock, secretsManager: throttled });
      const first = body(await b.call(getToken(profile.name)));
      clock.offsetMs = 0.6 * HOUR;
      throttle = true;
      const served = await b.call(getToken(profile.name));
      expect(served.statusCode).toBe(200);
      expect(body(served).fingerprint).toBe(first.fingerprint);

      const cold = brokerInstance(config, guard, { clock, secretsManager: throttled });
      const refused = await cold.call(getToken(profile.name));
      expect(refused.statusCode).toBe(503);
      expect(errorCode(refused)).toBe("token_unavailable");
      const audit = await auditOf(profile);
      expect(audit.slice(2).map((r) => `${r.action}:${r.outcome}:${r.errorCode}`)).toEqual([
        "handout:success:token_unavailable",
        "failure:error:token_unavailable",
      ]);
      expect(audit[2]?.detail).toContain("from fallback");
    });

    it("credentials secret throttled: usable token still served, else 503 token_unavailable", async () => {
      const profile = await newProfile();
      const clock = new OffsetClock();
      const config = brokerConfig([profile], tables, { refreshAtFraction: 0.5, minValidityFraction: 0.25 });
      let throttle = false;
      const throttled = throttledSecretsManager(
        (command, input) =>
          throttle && command === "GetSecretValueCommand" && input.SecretId === profile.credentialsSecretArn,
      );
      const before = sim.counters.tokenRequests;
      const first = body(
        await brokerInstance(config, guard, { clock, secretsManager: throttled }).call(
          getToken(profile.name),
        ),
      );
      clock.offsetMs = 0.6 * HOUR;
      throttle = true;
      // A fresh container (no credentials cached) has to read the secret for the due refresh.
      const served = await brokerInstance(config, guard, { clock, secretsManager: throttled }).call(
        getToken(profile.name),
      );
      expect(served.statusCode).toBe(200);
      expect(body(served).fingerprint).toBe(first.fingerprint);
      clock.offsetMs = 0.8 * HOUR;
      const refused = await brokerInstance(config, guard, { clock, secretsManager: throttled }).call(
        getToken(profile.name),
      );
      expect(refused.statusCode).toBe(503);
      expect(errorCode(refused)).toBe("token_unavailable");
      expect(sim.counters.tokenRequests - before).toBe(1);
      const audit = await auditOf(profile);
      expect(audit.slice(2).map((r) => `${r.action}:${r.outcome}:${r.errorCode}`)).toEqual([
        "handout:success:token_unavailable",
        "failure:error:token_unavailable",
      ]);
      expect(audit[3]?.detail).toContain("ThrottlingException");
    });

    it("PutSecretValue throttled: the minted token is still handed out, the lost cache write audited", async () => {
      const profile = await newProfile();
      const throttled = throttledSecretsManager((command) => command === "PutSecretValueCommand");
      const b = brokerInstance(brokerConfig([profile], tables), guard, { secretsManager: throttled });
      const res = await b.call(getToken(profile.name));
      expect(res.statusCode).toBe(200);
      expect(body(res).version).toBe("unsaved");
      const audit = await auditOf(profile);
      expect(audit.map((r) => `${r.action}:${r.outcome}:${r.errorCode ?? "-"}`)).toEqual([
        "mint:error:token_unavailable",
        "mint:success:-",
        "handout:success:-",
      ]);
      expect(audit[0]).toMatchObject({
        fingerprint: body(res).fingerprint,
        detail: "minted token could not be cached",
      });
      // Nothing reached the token secret: other containers cannot see (or serve) this token.
      await expect(
        secretsManager.send(new GetSecretValueCommand({ SecretId: profile.tokenSecretArn })),
      ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    });

    it("lease held elsewhere (conditional put fails): waits for that instance's version, no IdP call", async () => {
      const profile = await newProfile();
      const b = brokerInstance(brokerConfig([profile], tables), guard);
      await dynamo.send(
        new PutItemCommand({
          TableName: tables.leaseTable,
          Item: {
            profile: { S: profile.name },
            owner: { S: "another-container" },
            leaseUntil: { N: String(Date.now() + 4000) },
          },
        }),
      );
      const before = sim.counters.tokenRequests;
      const pending = b.call(getToken(profile.name));
      await waitFor(
        () => guard.lines.some((l) => l.includes("lease held elsewhere") && l.includes(profile.name)),
        5000,
        "the broker to lose the lease",
      );
      // The "other container" stores its token while this one waits.
      const value = "token-minted-by-another-container";
      guard.note(value);
      const now = Date.now();
      const peer = await secretsManager.send(
        new PutSecretValueCommand({
          SecretId: profile.tokenSecretArn,
          SecretString: JSON.stringify({
            accessToken: value,
            issuedAt: new Date(now).toISOString(),
            expiresAt: new Date(now + HOUR).toISOString(),
            fingerprint: fingerprint(value),
          }),
        }),
      );
      const res = await pending;
      expect(res.statusCode).toBe(200);
      expect(body(res).version).toBe(peer.VersionId);
      expect(sim.counters.tokenRequests - before).toBe(0);
      expect((await auditOf(profile)).map((r) => r.detail)).toEqual(["get from peer"]);
    });

    it("lease left with a failure mark: fails fast with that code, no IdP call", async () => {
      const profile = await newProfile();
      const b = brokerInstance(brokerConfig([profile], tables), guard);
      await dynamo.send(
        new PutItemCommand({
          TableName: tables.leaseTable,
          Item: {
            profile: { S: profile.name },
            owner: { S: "another-container" },
            leaseUntil: { N: String(Date.now() + 30_000) },
            failureCode: { S: "idp_invalid_client" },
          },
        }),
      );
      const before = sim.counters.tokenRequests;
      const res = await b.call(getToken(profile.name));
      expect(errorCode(res)).toBe("idp_invalid_client");
      expect(sim.counters.tokenRequests - before).toBe(0);
      expect(await actions(profile)).toEqual(["failure:error:idp_invalid_client"]);
    });

    it("audit item already present (attribute_not_exists fails): kept as is, request still answered", async () => {
      const profile = await newProfile();
      const frozen = Date.parse("2026-06-01T12:00:00.000Z");
      const clock = { now: () => frozen, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
      const b = brokerInstance(brokerConfig([profile], tables), guard, { clock });
      const event = getToken(profile.name);
      const sk = `${new Date(frozen).toISOString()}#${event.requestContext?.requestId}#2`;
      await dynamo.send(
        new PutItemCommand({
          TableName: tables.auditTable,
          Item: {
            pk: { S: `profile#${profile.name}` },
            sk: { S: sk },
            action: { S: "handout" },
            outcome: { S: "success" },
            profile: { S: profile.name },
            detail: { S: "written earlier" },
          },
        }),
      );
      const res = await b.call(event);
      expect(res.statusCode).toBe(200);
      const audit = await auditOf(profile);
      expect(audit.map((r) => r.detail)).toEqual(["no cached token", "written earlier"]);
      expect(guard.lines.some((l) => l.includes("audit item already recorded"))).toBe(true);
    });
  });

  it("a request without an IAM identity is refused (401) and audited with its source IP", async () => {
    const profile = await newProfile();
    const b = brokerInstance(brokerConfig([profile], tables), guard);
    const before = sim.counters.tokenRequests;
    const res = await b.call(getToken(profile.name, null));
    expect(res.statusCode).toBe(401);
    expect(res.headers["Cache-Control"]).toBe("no-store");
    expect(errorCode(res)).toBe("unauthenticated");
    expect(sim.counters.tokenRequests - before).toBe(0);
    const audit = await auditOf(profile);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: "refusal",
      outcome: "denied",
      errorCode: "unauthenticated",
      sourceIp: "203.0.113.7",
    });
    expect(audit[0]?.callerArn).toBeUndefined();
    expect(audit[0]?.expiresAtEpoch).toBeGreaterThan(Date.now() / 1000 + 29 * 86_400);
  });

  it("no issued token appears in any log line or audit item of this file", async () => {
    guard.stop();
    const audit = await scanAudit(dynamo, tables.auditTable);
    expect(guard.tokens.size).toBeGreaterThan(5);
    expect(guard.lines.some((l) => l.includes('"fingerprint"'))).toBe(true);
    expect(audit.length).toBeGreaterThan(20);
    const leaks = guard.findLeaks(
      audit.map((r, i) => ({ where: `audit item ${i}`, text: JSON.stringify(r) })),
    );
    expect(leaks).toEqual([]);
  });
});
