import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuditRecord } from "../../../shared/contracts.ts";
import { EXIT_OK, EXIT_QUERY_FAILED, EXIT_USAGE, runAuditCli } from "../../../tools/audit/cli.ts";
import { type DynaliteServer, startDynalite } from "../../../tools/local/dynalite-server.ts";
import { createAuditTable } from "../../../tools/local/dynamodb-tables.ts";
import { auditRecord } from "./records.ts";

const TABLE = "tokenstream-audit";
const NOW = Date.parse("2026-11-23T12:00:00.000Z");
const WORKER_1 = "arn:aws:sts::111122223333:assumed-role/tokenstream-worker/task-1";
const WORKER_2 = "arn:aws:sts::111122223333:assumed-role/tokenstream-worker/task-2";
const ANALYST = "arn:aws:iam::111122223333:user/alice";
const credentials = { accessKeyId: "local", secretAccessKey: "local" };

let dynalite: DynaliteServer;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
const seeded: AuditRecord[] = [];

/** 120 records over the last 48 h: two profiles, three principals, every action. */
function seed(): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (let i = 0; i < 120; i += 1) {
    const time = new Date(NOW - (i + 1) * 24 * 60_000).toISOString(); // one every 24 min, back 48 h
    const profile = i % 3 === 0 ? "genesys-eu" : "genesys-prod";
    const requestId = `req-${String(i).padStart(3, "0")}`;
    const kind = i % 10;
    if (kind < 6) {
      records.push(
        auditRecord(time, "handout", {
          profile,
          requestId,
          callerArn: kind % 2 === 0 ? WORKER_1 : WORKER_2,
          callerAccount: "111122223333",
          sourceIp: "10.0.1.17",
          fingerprint: "0123456789ab",
          secretVersion: `v-${i}`,
        }),
      );
    } else if (kind === 6) {
      records.push(auditRecord(time, "mint", { profile, requestId, fingerprint: "fedcba987654" }));
    } else if (kind === 7) {
      records.push(auditRecord(time, "rotation", { profile, requestId, fingerprint: "aaaabbbbcccc" }));
    } else if (kind === 8) {
      records.push(
        auditRecord(time, "refusal", {
          profile,
          requestId,
          callerArn: ANALYST,
          errorCode: "unknown_profile",
        }),
      );
    } else {
      records.push(auditRecord(time, "failure", { profile, requestId, errorCode: "idp_unavailable", n: 1 }));
    }
  }
  return records;
}

beforeAll(async () => {
  dynalite = await startDynalite();
  raw = new DynamoDBClient({ endpoint: dynalite.endpoint, region: "us-east-1", credentials });
  doc = DynamoDBDocumentClient.from(raw);
  await createAuditTable(raw, TABLE);
  seeded.push(...seed());
  for (let i = 0; i < seeded.length; i += 25) {
    const batch = seeded.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await doc.send(new BatchWriteCommand({ RequestItems: { [TABLE]: batch } }));
  }
  // An item another tool left in the table: must be skipped, not crash the export.
  await doc.send(
    new BatchWriteCommand({ RequestItems: { [TABLE]: [{ PutRequest: { Item: { pk: "junk", sk: "1" } } }] } }),
  );
});

afterAll(async () => {
  raw?.destroy();
  await dynalite?.stop();
});

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const send = vi.spyOn(doc, "send");
  const code = await runAuditCli(argv, {
    stdout: (chunk) => {
      stdout += chunk;
    },
    stderr: (chunk) => {
      stderr += chunk;
    },
    env: {},
    now: () => NOW,
    createClient: () => doc,
  });
  const requests = send.mock.calls.map(([command]) => command.constructor.name);
  send.mockRestore();
  return { code, stdout, stderr, requests };
}

function jsonl(stdout: string): AuditRecord[] {
  return stdout
    .trimEnd()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AuditRecord);
}

const keyOf = (record: AuditRecord) => `${record.pk}|${record.sk}`;
const keys = (records: AuditRecord[]) => records.map(keyOf).sort();

describe("tokenstream-audit against dynalite", () => {
  it("default window is the last 24 h, scanned across all profiles", async () => {
    const { code, stdout, stderr, requests } = await run(["--table", TABLE, "--format", "jsonl"]);
    expect(code).toBe(EXIT_OK);
    const expected = seeded.filter((r) => Date.parse(r.time) >= NOW - 86_400_000);
    expect(expected.length).toBe(60);
    expect(keys(jsonl(stdout))).toEqual(keys(expected));
    expect(requests.every((name) => name === "ScanCommand")).toBe(true);
    expect(stderr).toBe("");
  });

  it("--all returns every record and reports the foreign item on stderr", async () => {
    const { code, stdout, stderr } = await run(["--table", TABLE, "--all", "--format", "jsonl"]);
    expect(code).toBe(EXIT_OK);
    expect(keys(jsonl(stdout))).toEqual(keys(seeded));
    expect(stderr).toContain("skipped 1 item(s) that are not audit records");
  });

  it("--profile uses Query, results in time order within the window", async () => {
    const since = "2026-11-22T18:00:00Z";
    const until = "2026-11-23T06:00:00Z";
    const { code, stdout, requests } = await run([
      "--table",
      TABLE,
      "--profile",
      "genesys-eu",
      "--since",
      since,
      "--until",
      until,
      "--format",
      "jsonl",
    ]);
    expect(code).toBe(EXIT_OK);
    const expected = seeded
      .filter((r) => r.profile === "genesys-eu")
      .filter((r) => Date.parse(r.time) >= Date.parse(since) && Date.parse(r.time) < Date.parse(until))
      .sort((a, b) => a.sk.localeCompare(b.sk));
    expect(expected.length).toBeGreaterThan(5);
    expect(jsonl(stdout).map(keyOf)).toEqual(expected.map(keyOf));
    expect(requests).toEqual(["QueryCommand"]);
  });

  it("--principal (exact and prefix) and --action filter", async () => {
    const exact = await run(["--table", TABLE, "--all", "--principal", WORKER_1, "--format", "jsonl"]);
    expect(keys(jsonl(exact.stdout))).toEqual(keys(seeded.filter((r) => r.callerArn === WORKER_1)));

    const prefix = await run([
      "--table",
      TABLE,
      "--all",
      "--principal",
      "arn:aws:sts::111122223333:assumed-role/tokenstream-worker/*",
      "--action",
      "handout",
      "--format",
      "jsonl",
    ]);
    const handouts = seeded.filter((r) => r.action === "handout");
    expect(handouts.length).toBe(72);
    expect(keys(jsonl(prefix.stdout))).toEqual(keys(handouts));

    const actions = await run([
      "--table",
      TABLE,
      "--all",
      "--action",
      "refusal,failure",
      "--format",
      "jsonl",
    ]);
    const expected = seeded.filter((r) => r.action === "refusal" || r.action === "failure");
    expect(keys(jsonl(actions.stdout))).toEqual(keys(expected));
  });

  it("follows LastEvaluatedKey across pages (Query and Scan, including pages the filter empties)", async () => {
    const query = await run([
      "--table",
      TABLE,
      "--all",
      "--profile",
      "genesys-prod",
      "--page-size",
      "7",
      "--format",
      "jsonl",
    ]);
    const prod = seeded.filter((r) => r.profile === "genesys-prod");
    expect(keys(jsonl(query.stdout))).toEqual(keys(prod));
    expect(query.requests.length).toBeGreaterThanOrEqual(Math.ceil(prod.length / 7));

    const scan = await run([
      "--table",
      TABLE,
      "--all",
      "--action",
      "mint",
      "--page-size",
      "5",
      "--format",
      "jsonl",
    ]);
    expect(keys(jsonl(scan.stdout))).toEqual(keys(seeded.filter((r) => r.action === "mint")));
    expect(scan.requests.length).toBeGreaterThanOrEqual(Math.ceil((seeded.length + 1) / 5));
  });

  it("table and csv carry the same records as jsonl", async () => {
    const args = ["--table", TABLE, "--since", "6h"];
    const expected = seeded.filter((r) => Date.parse(r.time) >= NOW - 6 * 3_600_000);
    const table = await run([...args, "--format", "table"]);
    expect(table.stdout.trimEnd().split("\n").at(-1)).toBe(`${expected.length} record(s)`);
    for (const record of expected) expect(table.stdout).toContain(record.requestId);

    const csv = await run([...args, "--format", "csv"]);
    const [header, ...rows] = csv.stdout.trimEnd().split("\n");
    expect(header?.split(",")[0]).toBe("time");
    expect(rows.length).toBe(expected.length);
    expect(rows.map((row) => row.split(",")[0]).sort()).toEqual(expected.map((r) => r.time).sort());
  });

  it("--summary totals match the seeded records", async () => {
    const { code, stdout } = await run(["--table", TABLE, "--all", "--summary", "--format", "jsonl"]);
    expect(code).toBe(EXIT_OK);
    const summary = JSON.parse(stdout);
    expect(summary.records).toBe(120);
    const handoutsBy = (arn: string) =>
      summary.handoutsByPrincipal
        .filter((row: { principal: string }) => row.principal === arn)
        .reduce((sum: number, row: { count: number }) => sum + row.count, 0);
    expect(handoutsBy(WORKER_1)).toBe(seeded.filter((r) => r.callerArn === WORKER_1).length);
    expect(handoutsBy(WORKER_2)).toBe(seeded.filter((r) => r.callerArn === WORKER_2).length);
    const mints = summary.mintsByProfile.reduce((sum: number, row: { mints: number }) => sum + row.mints, 0);
    expect(mints).toBe(seeded.filter((r) => r.action === "mint").length);
    expect(summary.refusals).toEqual([
      { principal: ANALYST, profile: "genesys-prod", errorCode: "unknown_profile", count: 8 },
      { principal: ANALYST, profile: "genesys-eu", errorCode: "unknown_profile", count: 4 },
    ]);
    const table = await run(["--table", TABLE, "--all", "--summary"]);
    expect(table.stdout).toContain("Hand-outs per principal");
    expect(table.stdout).toContain("idp_unavailable");
  });

  it("bad arguments: usage on stderr, exit 2, no request made", async () => {
    const { code, stdout, stderr, requests } = await run(["--table", TABLE, "--format", "yaml"]);
    expect(code).toBe(EXIT_USAGE);
    expect(stdout).toBe("");
    expect(stderr).toContain("--format must be one of table, jsonl, csv");
    expect(stderr).toContain("Usage: tokenstream-audit");
    expect(requests).toEqual([]);
  });

  it("a missing table is a clear query failure, exit 1", async () => {
    const { code, stderr } = await run(["--table", "no-such-table"]);
    expect(code).toBe(EXIT_QUERY_FAILED);
    expect(stderr).toContain('query on table "no-such-table" failed: table not found');
  });
});

describe("the bin entry (no build step)", () => {
  const bin = fileURLToPath(new URL("../../../bin/tokenstream-audit.mjs", import.meta.url));

  function spawnCli(argv: string[], env: Record<string, string>) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...argv], {
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
      });
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("reads AUDIT_TABLE, AWS_ENDPOINT_URL and the default credential chain from the environment", async () => {
    const result = await spawnCli(["--all", "--action", "mint", "--format", "jsonl"], {
      AUDIT_TABLE: TABLE,
      AWS_ENDPOINT_URL: dynalite.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    expect(result.code).toBe(0);
    expect(keys(jsonl(result.stdout))).toEqual(keys(seeded.filter((r) => r.action === "mint")));
  });

  it("without a region: exit 1 and says how to give one (no stack trace)", async () => {
    const result = await spawnCli(["--all"], { AUDIT_TABLE: TABLE, HOME: "/nonexistent" });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'tokenstream-audit: query on table "tokenstream-audit" failed: no AWS region: pass --region or set AWS_REGION',
    );
  });

  it("exits 2 with usage on bad arguments", async () => {
    const result = await spawnCli(["--since", "soon"], { AUDIT_TABLE: TABLE });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--since "soon" is not a time');
  });
});
