import { describe, expect, it } from "vitest";
import { parseAuditArgs, UsageError } from "../../../tools/audit/args.ts";
import { parseTimeBound } from "../../../tools/audit/time-bound.ts";

const NOW = Date.parse("2026-11-23T12:00:00.000Z");
const env = { AUDIT_TABLE: "audit-from-env" };

function parse(argv: string[], environment: Record<string, string | undefined> = env) {
  const command = parseAuditArgs(argv, environment, NOW);
  if (command.kind !== "query") throw new Error("expected a query");
  return command.query;
}

describe("parseTimeBound", () => {
  it("reads relative ages, now and ISO instants as UTC", () => {
    expect(parseTimeBound("90s", NOW)).toBe(NOW - 90_000);
    expect(parseTimeBound("30m", NOW)).toBe(NOW - 1_800_000);
    expect(parseTimeBound("24h", NOW)).toBe(NOW - 86_400_000);
    expect(parseTimeBound("7d", NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseTimeBound("2w", NOW)).toBe(NOW - 14 * 86_400_000);
    expect(parseTimeBound("now", NOW)).toBe(NOW);
    expect(parseTimeBound("2026-11-20", NOW)).toBe(Date.parse("2026-11-20T00:00:00Z"));
    expect(parseTimeBound("2026-11-20T08:30:00", NOW)).toBe(Date.parse("2026-11-20T08:30:00Z"));
    expect(parseTimeBound("2026-11-20T08:30:00+02:00", NOW)).toBe(Date.parse("2026-11-20T06:30:00Z"));
  });

  it("rejects anything else", () => {
    for (const bad of ["yesterday", "24", "h", "-5m", "2026-13-45", "2026-11-20T99:00:00Z", ""]) {
      expect(parseTimeBound(bad, NOW), bad).toBeUndefined();
    }
  });
});

describe("parseAuditArgs", () => {
  it("defaults: table from AUDIT_TABLE, last 24 h, table format, no filters", () => {
    const query = parse([]);
    expect(query).toEqual({
      table: "audit-from-env",
      sinceMs: NOW - 86_400_000,
      format: "table",
      summary: false,
    });
  });

  it("reads every flag", () => {
    const query = parse([
      "--table",
      "t",
      "--since",
      "2026-11-22T00:00:00Z",
      "--until",
      "1h",
      "--profile",
      "genesys-prod",
      "--principal",
      "arn:aws:sts::123456789012:assumed-role/worker/task",
      "--action",
      "mint,handout",
      "--action",
      "refusal",
      "--outcome",
      "error,denied",
      "--format",
      "csv",
      "--summary",
      "--region",
      "eu-west-1",
      "--endpoint-url",
      "http://127.0.0.1:4567",
      "--page-size",
      "25",
    ]);
    expect(query).toEqual({
      table: "t",
      sinceMs: Date.parse("2026-11-22T00:00:00Z"),
      untilMs: NOW - 3_600_000,
      profile: "genesys-prod",
      principal: { kind: "exact", arn: "arn:aws:sts::123456789012:assumed-role/worker/task" },
      actions: ["mint", "handout", "refusal"],
      outcomes: ["error", "denied"],
      format: "csv",
      summary: true,
      region: "eu-west-1",
      endpointUrl: "http://127.0.0.1:4567",
      pageSize: 25,
    });
  });

  it("--all drops the time window; a trailing * is a principal prefix; AWS_ENDPOINT_URL is the default endpoint", () => {
    const query = parse(["--all", "--principal", "arn:aws:sts::1:assumed-role/worker/*"], {
      AUDIT_TABLE: "t",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    });
    expect(query.sinceMs).toBeUndefined();
    expect(query.untilMs).toBeUndefined();
    expect(query.principal).toEqual({ kind: "prefix", prefix: "arn:aws:sts::1:assumed-role/worker/" });
    expect(query.endpointUrl).toBe("http://127.0.0.1:9");
  });

  it("--lane N keeps a lane number", () => {
    const parsed = parseAuditArgs(["--lane", "1"], env, NOW);
    expect(parsed.kind === "query" && parsed.query.lane).toBe(1);
  });

  it("--help wins over everything else", () => {
    expect(parseAuditArgs(["--help"], {}, NOW)).toEqual({ kind: "help" });
    expect(parseAuditArgs(["-h"], {}, NOW)).toEqual({ kind: "help" });
  });

  const bad: [string, string[], Record<string, string>, RegExp][] = [
    ["no table", [], {}, /no audit table/],
    ["unknown flag", ["--bogus"], env, /Unknown option '--bogus'/],
    ["positional", ["mint"], env, /Unexpected argument 'mint'/],
    ["missing value", ["--since"], env, /--since/],
    ["bad format", ["--format", "xml"], env, /--format must be one of table, jsonl, csv/],
    ["bad action", ["--action", "mint,steal"], env, /--action "steal"/],
    ["bad outcome", ["--outcome", "failed"], env, /--outcome "failed" is not one of success, denied, error/],
    ["bad time", ["--since", "last tuesday"], env, /--since "last tuesday" is not a time/],
    ["empty window", ["--since", "1h", "--until", "2h"], env, /--since must be earlier than --until/],
    ["--all with --since", ["--all", "--since", "1h"], env, /--all cannot be combined/],
    ["inner wildcard", ["--principal", "arn:*:x"], env, /trailing \* only/],
    ["bare wildcard", ["--principal", "*"], env, /trailing \* only/],
    ["page size", ["--page-size", "0"], env, /--page-size must be a whole number/],
    ["empty profile", ["--profile", " "], env, /--profile needs a value/],
    ["bad lane", ["--lane", "one"], env, /--lane must be a lane number/],
    ["negative lane", ["--lane", "-1"], env, /--lane/],
  ];
  it.each(bad)("usage error: %s", (_name, argv, environment, message) => {
    expect(() => parseAuditArgs(argv, environment, NOW)).toThrow(UsageError);
    expect(() => parseAuditArgs(argv, environment, NOW)).toThrow(message);
  });
});
