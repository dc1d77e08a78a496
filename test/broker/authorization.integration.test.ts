import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { FunctionUrlResult } from "../../functions/broker/core/events.ts";
import type { BrokerErrorResponse, BrokerProfile, BrokerTokenResponse } from "../../shared/contracts.ts";
import type { Simulator } from "../../sim/index.ts";
import { startSimulator } from "../../sim/index.ts";
import {
  awsClients,
  type BrokerTables,
  createBrokerTables,
  createProfile,
  motoEndpoint,
  scanAudit,
} from "./support/aws.ts";
import { CALLER, getToken, refreshToken, urlEvent } from "./support/events.ts";
import { LeakGuard } from "./support/leak-guard.ts";

const CLIENT = { clientId: "authz-client", clientSecret: "authz-secret" };
/** The worker's task role as CDK names it in PROFILES; CALLER is a session of it. */
const WORKER_ROLE = "arn:aws:iam::111122223333:role/worker";
const AUDITOR = {
  userArn: "arn:aws:sts::111122223333:assumed-role/auditor/alice",
  accountId: "111122223333",
  callerId: "AROAAUDITOR:alice",
};
const OPERATOR = {
  userArn: "arn:aws:iam::111122223333:user/ops-bob",
  accountId: "111122223333",
  callerId: "AIDAOPSBOB",
};

const errorOf = (r: FunctionUrlResult) => (JSON.parse(r.body) as BrokerErrorResponse).error;

/**
 * Per-profile authorization through the Lambda's own entry points and environment parsing, against moto
 * (Secrets Manager, DynamoDB) and the simulator's OAuth endpoint: refusals are 403 and audited as refusals.
 */
describe("per-profile authorization (url-handler.ts against moto)", () => {
  const guard = new LeakGuard();
  const { secretsManager, dynamo } = awsClients();
  let sim: Simulator;
  let tables: BrokerTables;
  let worker: BrokerProfile;
  let reports: BrokerProfile;
  let urlHandler: (event: unknown) => Promise<FunctionUrlResult>;
  let refreshHandler: (event: unknown, context?: { awsRequestId?: string }) => Promise<unknown>;
  const saved = { ...process.env };

  beforeAll(async () => {
    guard.capture();
    guard.note(CLIENT.clientSecret);
    sim = await startSimulator({ clients: [{ ...CLIENT, tokenLifetimeSec: 3600 }] });
    tables = await createBrokerTables(dynamo, "authz");
    const options = { loginUrl: sim.loginUrl, ...CLIENT };
    worker = await createProfile(secretsManager, options);
    reports = await createProfile(secretsManager, options);
    Object.assign(process.env, {
      PROFILES: JSON.stringify([
        { ...worker, allowedPrincipals: [WORKER_ROLE] },
        { ...reports, allowedPrincipals: ["arn:aws:iam::111122223333:role/audit*", OPERATOR.userArn] },
      ]),
      AUDIT_TABLE: tables.auditTable,
      LEASE_TABLE: tables.leaseTable,
      AWS_ENDPOINT_URL: motoEndpoint(),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    vi.resetModules();
    urlHandler = (await import("../../functions/broker/url-handler.ts")).handler;
    refreshHandler = (await import("../../functions/broker/refresh-handler.ts")).handler;
  });
  afterAll(async () => {
    process.env = saved;
    vi.resetModules();
    guard.stop();
    await sim?.close();
  });

  const auditOf = async (profile: string) =>
    (await scanAudit(dynamo, tables.auditTable)).filter((r) => r.profile === profile);

  it("serves the worker role's sessions their own profile", async () => {
    const res = await urlHandler(getToken(worker.name));
    expect(res.statusCode).toBe(200);
    guard.note((JSON.parse(res.body) as BrokerTokenResponse).accessToken);
  });

  it("refuses the worker role another profile with 403 forbidden, audited as a refusal, and mints nothing", async () => {
    const mintsBefore = sim.counters.tokenRequests;
    const res = await urlHandler(getToken(reports.name));
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe("forbidden");
    const refresh = await urlHandler(refreshToken(reports.name, "0123456789ab"));
    expect(refresh.statusCode).toBe(403);
    expect(sim.counters.tokenRequests).toBe(mintsBefore);
    const audit = await auditOf(reports.name);
    expect(audit).toHaveLength(2);
    for (const record of audit) {
      expect(record).toMatchObject({
        action: "refusal",
        outcome: "denied",
        errorCode: "forbidden",
        callerArn: CALLER.userArn,
        callerAccount: CALLER.accountId,
      });
      expect(record.fingerprint).toBeUndefined();
    }
  });

  it("matches role-name patterns against sessions and exact user ARNs; refuses them the worker's profile", async () => {
    for (const iam of [AUDITOR, OPERATOR]) {
      const ok = await urlHandler(getToken(reports.name, iam));
      expect(ok.statusCode).toBe(200);
      guard.note((JSON.parse(ok.body) as BrokerTokenResponse).accessToken);
      const refused = await urlHandler(getToken(worker.name, iam));
      expect(refused.statusCode).toBe(403);
    }
    const refusals = (await auditOf(worker.name)).filter((r) => r.action === "refusal");
    expect(refusals.map((r) => r.callerArn).sort()).toEqual([OPERATOR.userArn, AUDITOR.userArn].sort());
    expect(refusals.every((r) => r.errorCode === "forbidden" && r.outcome === "denied")).toBe(true);
  });

  it("the URL function refuses a schedule payload (audited); only the refresh function rotates", async () => {
    const direct = await urlHandler({ kind: "scheduled-refresh" });
    expect(direct.statusCode).toBe(401);
    expect(errorOf(direct).code).toBe("unauthenticated");
    const requestId = errorOf(direct).requestId!;
    const audited = (await scanAudit(dynamo, tables.auditTable)).filter((r) => r.requestId === requestId);
    expect(audited).toMatchObject([{ action: "refusal", outcome: "denied", errorCode: "unauthenticated" }]);

    const forged = urlEvent("GET", "/token", { query: { profile: worker.name } });
    const summary = await refreshHandler(forged, { awsRequestId: "authz-refresh" });
    expect(summary).toMatchObject({ kind: "scheduled-refresh", requestId: "authz-refresh" });
    expect(JSON.stringify(summary)).not.toContain("accessToken");
  });
});
