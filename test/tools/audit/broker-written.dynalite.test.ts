/**
 * The audit CLI reads what the broker actually writes: records produced by the broker's own core and
 * DynamoDbAuditSink (through the local HTTP adapter, against the simulator) are read back with
 * `tokenstream-audit`, attribute for attribute, so the writer and the reader cannot drift apart.
 */
import { DescribeTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbAuditSink } from "../../../functions/broker/adapters/dynamodb-audit-sink.ts";
import { buildAuditRecord } from "../../../functions/broker/core/audit-record.ts";
import {
  DEFAULT_LOCAL_IDENTITY,
  type LocalBroker,
  startLocalBroker,
} from "../../../functions/broker/local-server.ts";
import {
  AUDIT_TABLE_PARTITION_KEY,
  AUDIT_TABLE_SORT_KEY,
  AUDIT_TABLE_TTL_ATTRIBUTE,
} from "../../../lib/token-broker.ts";
import type { AuditRecord, BrokerProfile } from "../../../shared/contracts.ts";
import { type Simulator, startSimulator } from "../../../sim/index.ts";
import { EXIT_OK, runAuditCli } from "../../../tools/audit/cli.ts";
import { type DynaliteServer, startDynalite } from "../../../tools/local/dynalite-server.ts";
import { createAuditTable, createLeaseTable } from "../../../tools/local/dynamodb-tables.ts";

const AUDIT = "audit";
const LEASE = "lease";
const TOKEN_LIFETIME_SEC = 3_600;
const RETENTION_DAYS = 400;
const credentials = { accessKeyId: "local", secretAccessKey: "local" };
/** Typed as every key of AuditRecord: a new attribute fails the typecheck here until this file lists it. */
const EVERY_AUDIT_ATTRIBUTE: Record<keyof AuditRecord, true> = {
  pk: true,
  sk: true,
  time: true,
  action: true,
  outcome: true,
  profile: true,
  lane: true,
  requestId: true,
  callerArn: true,
  callerAccount: true,
  sourceIp: true,
  fingerprint: true,
  secretVersion: true,
  expiresAt: true,
  errorCode: true,
  detail: true,
  expiresAtEpoch: true,
};
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

let dynalite: DynaliteServer;
let raw: DynamoDBClient;
let sim: Simulator;
let broker: LocalBroker;
/** Broker clock: real time plus a jump, so a scheduled refresh can find a token past 75% of its life. */
let clockOffsetMs = 0;
let jumpedAtMs = 0;
const issuedTokens: string[] = [];

function profile(name: string): BrokerProfile {
  return {
    name,
    loginUrl: sim.loginUrl,
    credentialsSecretArn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-credentials`,
    tokenSecretArn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-token`,
    // One lane: the counts below are about the CLI, not lanes (test/broker covers lanes).
    lanes: 1,
  };
}

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runAuditCli(["--table", AUDIT, ...argv], {
    stdout: (chunk) => {
      stdout += chunk;
    },
    stderr: (chunk) => {
      stderr += chunk;
    },
    env: {},
    now: () => Date.now() + clockOffsetMs,
    createClient: () => DynamoDBDocumentClient.from(raw),
  });
  return { code, stdout, stderr };
}

const lines = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AuditRecord);

async function rawItems(): Promise<Record<string, unknown>[]> {
  const page = await raw.send(new ScanCommand({ TableName: AUDIT }));
  expect(page.LastEvaluatedKey).toBeUndefined();
  return (page.Items ?? []).map((item) => unmarshall(item));
}

beforeAll(async () => {
  dynalite = await startDynalite();
  raw = new DynamoDBClient({ endpoint: dynalite.endpoint, region: "us-east-1", credentials });
  await createAuditTable(raw, AUDIT);
  await createLeaseTable(raw, LEASE);
  sim = await startSimulator({
    clients: [{ clientId: "audit-client", clientSecret: "audit-secret" }],
    tokenLifetimeSec: TOKEN_LIFETIME_SEC,
  });
  broker = await startLocalBroker({
    profiles: [profile("genesys-prod"), profile("misconfigured")],
    dynamo: raw,
    auditTable: AUDIT,
    leaseTable: LEASE,
    credentials: {
      "genesys-prod": { clientId: "audit-client", clientSecret: "audit-secret" },
      misconfigured: { clientId: "audit-client", clientSecret: "wrong-secret" },
    },
    auditRetentionDays: RETENTION_DAYS,
    log: quiet,
    clock: {
      now: () => Date.now() + clockOffsetMs,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
  });

  // mint + handout, then a cached handout
  for (let i = 0; i < 2; i += 1) {
    const res = await fetch(`${broker.url}/token?profile=genesys-prod`);
    expect(res.status).toBe(200);
    issuedTokens.push(((await res.json()) as { accessToken: string }).accessToken);
  }
  // refusal: a profile the broker does not serve
  expect((await fetch(`${broker.url}/token?profile=nope`)).status).toBe(404);
  // failure: the identity provider rejects the client
  expect((await fetch(`${broker.url}/token?profile=misconfigured`)).status).toBeGreaterThanOrEqual(500);
  // rotation: the scheduled refresh finds the token past 75% of its life
  clockOffsetMs = Math.round(TOKEN_LIFETIME_SEC * 1000 * 0.8);
  jumpedAtMs = Date.now() + clockOffsetMs;
  // (the misconfigured profile fails again, so the run as a whole reports a failure)
  await expect(broker.broker.handle({ kind: "scheduled-refresh" })).rejects.toThrow(/misconfigured/);
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await sim?.close();
  raw?.destroy();
  await dynalite?.stop();
});

describe("tokenstream-audit reads what the broker writes", () => {
  it("the local audit table has the deployed table's key schema and TTL attribute", async () => {
    const { Table } = await raw.send(new DescribeTableCommand({ TableName: AUDIT }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: AUDIT_TABLE_PARTITION_KEY, KeyType: "HASH" },
      { AttributeName: AUDIT_TABLE_SORT_KEY, KeyType: "RANGE" },
    ]);
    const items = await rawItems();
    for (const item of items) {
      const ttl = item[AUDIT_TABLE_TTL_ATTRIBUTE];
      expect(typeof ttl).toBe("number");
      const writtenAtSec = Date.parse(item.time as string) / 1000;
      expect(ttl as number).toBeCloseTo(writtenAtSec + RETENTION_DAYS * 86_400, -1);
    }
  });

  it("the broker wrote every kind of record the CLI filters on", async () => {
    const actions = new Set((await rawItems()).map((item) => item.action));
    expect([...actions].sort()).toEqual(["failure", "handout", "mint", "refusal", "rotation"]);
  });

  it("--all --format jsonl returns every broker-written item with every attribute, unchanged", async () => {
    const items = await rawItems();
    const { code, stdout, stderr } = await cli(["--all", "--format", "jsonl"]);
    expect(code).toBe(EXIT_OK);
    expect(stderr).toBe("");
    const byKey = (record: { pk?: unknown; sk?: unknown }) => `${record.pk}|${record.sk}`;
    const read = new Map(lines(stdout).map((record) => [byKey(record), record]));
    expect(read.size).toBe(items.length);
    for (const item of items) expect(read.get(byKey(item))).toEqual(item);
  });

  it("filters work on broker-written keys: --profile (Query), --action, --principal, time window", async () => {
    const handouts = await cli(["--profile", "genesys-prod", "--action", "handout", "--format", "jsonl"]);
    expect(lines(handouts.stdout)).toHaveLength(2);
    expect(lines(handouts.stdout).every((r) => r.callerArn === DEFAULT_LOCAL_IDENTITY.userArn)).toBe(true);

    const local = await cli(["--principal", DEFAULT_LOCAL_IDENTITY.userArn, "--format", "jsonl"]);
    const callerItems = (await rawItems()).filter(
      (item) => item.callerArn === DEFAULT_LOCAL_IDENTITY.userArn,
    );
    expect(callerItems.length).toBeGreaterThanOrEqual(4);
    expect(lines(local.stdout)).toHaveLength(callerItems.length);

    const refusals = await cli(["--action", "refusal,failure", "--format", "jsonl"]);
    const turnedAway = lines(refusals.stdout);
    expect(new Set(turnedAway.map((r) => `${r.action}:${r.profile}:${r.errorCode}`))).toEqual(
      new Set(["failure:misconfigured:idp_invalid_client", "refusal:nope:unknown_profile"]),
    );
    expect(turnedAway).toHaveLength(
      (await rawItems()).filter((item) => item.action === "refusal" || item.action === "failure").length,
    );

    // Everything that went wrong, whatever the action: the refused request, the failed mint, the failed rotations.
    const wrong = lines((await cli(["--all", "--outcome", "error,denied", "--format", "jsonl"])).stdout);
    const wrongRaw = (await rawItems()).filter(
      (item) => item.outcome === "error" || item.outcome === "denied",
    );
    expect(wrong.map((r) => r.sk).sort()).toEqual(wrongRaw.map((item) => item.sk).sort());
    expect(new Set(wrong.map((r) => r.action))).toEqual(new Set(["refusal", "failure", "mint", "rotation"]));

    // The broker clock jumped before the scheduled refresh: --since/--until split the records there.
    const jump = new Date(jumpedAtMs).toISOString();
    const before = lines((await cli(["--all", "--format", "jsonl"])).stdout).filter((r) => r.time < jump);
    const after = lines((await cli(["--since", jump, "--format", "jsonl"])).stdout);
    const until = lines((await cli(["--since", "1d", "--until", jump, "--format", "jsonl"])).stdout);
    expect(new Set(after.map((r) => r.action))).toEqual(new Set(["rotation"]));
    expect(after.every((r) => r.callerArn === "scheduler")).toBe(true);
    expect(until.map((r) => r.sk).sort()).toEqual(before.map((r) => r.sk).sort());
    expect(until.some((r) => r.action === "rotation")).toBe(false);
  });

  it("--summary counts the broker's own records", async () => {
    const { stdout } = await cli(["--all", "--summary", "--format", "jsonl"]);
    const summary = JSON.parse(stdout);
    expect(summary.records).toBe((await rawItems()).length);
    expect(summary.handoutsByPrincipal).toEqual([
      expect.objectContaining({
        principal: DEFAULT_LOCAL_IDENTITY.userArn,
        profile: "genesys-prod",
        count: 2,
      }),
    ]);
    // Mints and rotations the identity provider refused are failures, not tokens.
    expect(summary.mintsByProfile).toEqual([{ profile: "genesys-prod", mints: 1, rotations: 1 }]);
    const failed = summary.failures.filter((row: { profile: string }) => row.profile === "misconfigured");
    const failedRaw = (await rawItems()).filter((item) => item.outcome === "error");
    expect(failed.reduce((sum: number, row: { count: number }) => sum + row.count, 0)).toBe(failedRaw.length);
    expect(failed.map((row: { action: string }) => row.action)).toEqual(
      expect.arrayContaining(["mint", "rotation"]),
    );
  });

  it("no issued token appears in anything the CLI prints", async () => {
    expect(issuedTokens.length).toBe(2);
    const outputs = await Promise.all(
      ["jsonl", "csv", "table"].map(async (format) => (await cli(["--all", "--format", format])).stdout),
    );
    for (const output of outputs) for (const token of issuedTokens) expect(output).not.toContain(token);
  });

  it("a record with every AuditRecord attribute survives the sink and the CLI unchanged", async () => {
    const sink = new DynamoDbAuditSink(raw, AUDIT);
    const built = buildAuditRecord(
      {
        action: "handout",
        outcome: "success",
        profile: "every-field",
        lane: 1,
        requestId: "req-every-field",
        caller: {
          callerArn: "arn:aws:sts::111122223333:assumed-role/tokenstream-worker/task",
          callerAccount: "111122223333",
          sourceIp: "10.0.0.1",
        },
        token: {
          accessToken: "not-a-real-token-value",
          fingerprint: "0123456789ab",
          expiresAt: "2026-11-24T12:00:00.000Z",
          issuedAt: "2026-11-23T12:00:00.000Z",
        },
        secretVersion: "version-1",
        errorCode: "idp_unavailable",
        detail: "detail text",
      },
      Date.now(),
      0,
      RETENTION_DAYS,
    );
    expect(Object.keys(built).sort()).toEqual(Object.keys(EVERY_AUDIT_ATTRIBUTE).sort());
    await sink.write(built);
    const { stdout } = await cli(["--profile", "every-field", "--all", "--format", "jsonl"]);
    expect(lines(stdout)).toEqual([built]);
  });
});
