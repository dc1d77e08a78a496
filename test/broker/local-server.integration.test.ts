import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryTokenStore } from "../../functions/broker/adapters/memory-token-store.ts";
import { tokenLane } from "../../functions/broker/core/token-lane.ts";
import {
  DEFAULT_LOCAL_IDENTITY,
  type LocalBroker,
  startLocalBroker,
} from "../../functions/broker/local-server.ts";
import type { BrokerProfile, BrokerTokenResponse } from "../../shared/contracts.ts";
import type { Simulator } from "../../sim/index.ts";
import { startSimulator } from "../../sim/index.ts";
import { awsClients, type BrokerTables, createBrokerTables, scanAudit } from "./support/aws.ts";
import { LeakGuard } from "./support/leak-guard.ts";

describe("local broker server (plain HTTP -> Function URL event -> same core)", () => {
  const guard = new LeakGuard();
  const { dynamo } = awsClients();
  let sim: Simulator;
  let tables: BrokerTables;
  let local: LocalBroker;
  let profile: BrokerProfile;
  const store = new MemoryTokenStore();

  beforeAll(async () => {
    guard.capture();
    guard.note("local-secret");
    sim = await startSimulator({ clients: [{ clientId: "local-client", clientSecret: "local-secret" }] });
    tables = await createBrokerTables(dynamo, "local");
    profile = {
      name: "dev",
      loginUrl: sim.loginUrl,
      credentialsSecretArn: "unused",
      tokenSecretArn: "dev-token",
    };
    local = await startLocalBroker({
      profiles: [profile],
      dynamo,
      tokenStore: store,
      credentials: { dev: { clientId: "local-client", clientSecret: "local-secret" } },
      auditTable: tables.auditTable,
      leaseTable: tables.leaseTable,
      fetch: guard.fetch,
    });
  });
  afterAll(async () => {
    guard.stop();
    await local?.close();
    await sim?.close();
  });

  it("GET /token over HTTP mints once, caches in the local store, and audits the local identity", async () => {
    const res = await fetch(`${local.url}/token?profile=dev`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const token = (await res.json()) as BrokerTokenResponse;
    const again = (await (await fetch(`${local.url}/token?profile=dev`)).json()) as BrokerTokenResponse;
    expect(again.version).toBe(token.version);
    expect(sim.counters.tokenRequests).toBe(1);
    expect((await store.getCurrent(tokenLane(profile, 0)))?.token.fingerprint).toBe(token.fingerprint);
    const audit = await scanAudit(dynamo, tables.auditTable);
    expect(audit.filter((r) => r.action === "handout")).toHaveLength(2);
    expect(audit.every((r) => r.callerArn === DEFAULT_LOCAL_IDENTITY.userArn)).toBe(true);
    expect(audit[0]?.sourceIp).toMatch(/127\.0\.0\.1/);
  });

  it("POST /token/refresh is the same compare-and-swap", async () => {
    const current = (await (await fetch(`${local.url}/token?profile=dev`)).json()) as BrokerTokenResponse;
    const res = await fetch(`${local.url}/token/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ profile: "dev", rejectedFingerprint: current.fingerprint }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as BrokerTokenResponse).fingerprint).not.toBe(current.fingerprint);
  });

  it("maps errors to the same codes", async () => {
    const wrongMethod = await fetch(`${local.url}/token?profile=dev`, { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    const unknown = await fetch(`${local.url}/token?profile=prod`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("unknown_profile");
    const tooLarge = await fetch(`${local.url}/token/refresh`, { method: "POST", body: "x".repeat(20_000) });
    expect(tooLarge.status).toBe(413);
  });

  it("no issued token or client secret in its log lines or audit items", async () => {
    guard.stop();
    const audit = await scanAudit(dynamo, tables.auditTable);
    expect(guard.tokens.size).toBe(2 + 1); // two issued tokens and the client secret
    expect(guard.findLeaks(audit.map((r, i) => ({ where: `audit ${i}`, text: JSON.stringify(r) })))).toEqual(
      [],
    );
  });
});
