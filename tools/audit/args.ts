import { parseArgs } from "node:util";
import type { AuditAction, AuditOutcome } from "../../shared/contracts.ts";
import { parseTimeBound } from "./time-bound.ts";

export const AUDIT_ACTIONS: readonly AuditAction[] = ["mint", "rotation", "handout", "refusal", "failure"];
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ["success", "denied", "error"];
export const OUTPUT_FORMATS = ["table", "jsonl", "csv"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Who asked: an exact caller ARN, or every ARN starting with a prefix (`--principal 'arn:...:assumed-role/Worker/*'`). */
export type PrincipalFilter = { kind: "exact"; arn: string } | { kind: "prefix"; prefix: string };

/** A validated audit query: everything the CLI needs, nothing about how it is fetched. */
export interface AuditQuery {
  table: string;
  /** Inclusive lower bound, epoch ms; undefined = no bound. */
  sinceMs?: number;
  /** Exclusive upper bound, epoch ms; undefined = no bound. */
  untilMs?: number;
  profile?: string;
  /** Token lane; 0 also matches records written before lanes existed (they carry no lane). */
  lane?: number;
  principal?: PrincipalFilter;
  actions?: AuditAction[];
  outcomes?: AuditOutcome[];
  format: OutputFormat;
  summary: boolean;
  region?: string;
  endpointUrl?: string;
  /** DynamoDB `Limit` per request (page size); undefined = DynamoDB's 1 MB pages. */
  pageSize?: number;
}

export type ParsedCommand = { kind: "help" } | { kind: "query"; query: AuditQuery };

/** Bad command line: the CLI prints the message plus usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const DEFAULT_SINCE = "24h";

export const USAGE = `Usage: tokenstream-audit [options]

Query the tokenstream broker's audit table (every mint, rotation, hand-out, refusal and failure).

Options:
  --table <name>         audit table name (default: $AUDIT_TABLE)
  --since <time>         start of the window, inclusive (default: ${DEFAULT_SINCE})
  --until <time>         end of the window, exclusive (default: now)
  --all                  no time window (reads the whole table; cannot be combined with --since/--until)
  --profile <name>       only this token profile (uses a DynamoDB Query instead of a Scan)
  --lane <n>             only this token lane (0 also matches records from before lanes existed)
  --principal <arn>      only this caller ARN; a trailing * matches a prefix
                         (e.g. 'arn:aws:sts::123456789012:assumed-role/tokenstream-worker/*')
  --action <list>        mint, rotation, handout, refusal, failure (comma list or repeated)
  --outcome <list>       success, denied, error (comma list or repeated); error also catches
                         mints and rotations the identity provider refused
  --format <fmt>         table (default), jsonl or csv
  --summary              totals instead of records: hand-outs per principal, mints and rotations
                         per profile, failures and refusals by error code
  --region <region>      AWS region (default: the SDK's region chain, e.g. $AWS_REGION)
  --endpoint-url <url>   DynamoDB endpoint (default: $AWS_ENDPOINT_URL; for local emulators)
  --page-size <n>        items per DynamoDB request (default: DynamoDB's 1 MB pages)
  -h, --help             show this help

Times are ISO-8601 (UTC unless a zone is given: 2026-11-23, 2026-11-23T09:00:00Z) or relative to now
(90s, 30m, 24h, 7d, 2w). Credentials come from the AWS SDK default chain.

Exit codes: 0 success, 1 query failed (e.g. table not found, no credentials), 2 bad arguments.`;

/** Parses argv (without node and script) and the environment into a query. Throws UsageError on bad input. */
export function parseAuditArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  nowMs: number,
): ParsedCommand {
  let values: ReturnType<typeof parseRaw>["values"];
  try {
    values = parseRaw(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { kind: "help" };

  const table = nonEmpty(values.table, "--table") ?? nonEmpty(env.AUDIT_TABLE, "AUDIT_TABLE");
  if (!table) throw new UsageError("no audit table: pass --table <name> or set AUDIT_TABLE");

  const format = values.format ?? "table";
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(", ")} (got "${format}")`);
  }

  if (values.all && (values.since !== undefined || values.until !== undefined)) {
    throw new UsageError("--all cannot be combined with --since or --until");
  }
  const sinceMs = values.all ? undefined : timeBound(values.since ?? DEFAULT_SINCE, "--since", nowMs);
  const untilMs =
    values.all || values.until === undefined ? undefined : timeBound(values.until, "--until", nowMs);
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs) {
    throw new UsageError("--since must be earlier than --until");
  }

  const query: AuditQuery = { table, format: format as OutputFormat, summary: values.summary ?? false };
  if (sinceMs !== undefined) query.sinceMs = sinceMs;
  if (untilMs !== undefined) query.untilMs = untilMs;

  const profile = nonEmpty(values.profile, "--profile");
  if (profile) query.profile = profile;

  const lane = nonEmpty(values.lane, "--lane");
  if (lane !== undefined) {
    if (!/^\d{1,3}$/.test(lane))
      throw new UsageError(`--lane must be a lane number such as 0 or 1 (got "${lane}")`);
    query.lane = Number(lane);
  }

  const principal = nonEmpty(values.principal, "--principal");
  if (principal) query.principal = principalFilter(principal);

  if (values.action) query.actions = oneOfList(values.action, AUDIT_ACTIONS, "--action");
  if (values.outcome) query.outcomes = oneOfList(values.outcome, AUDIT_OUTCOMES, "--outcome");

  const region = nonEmpty(values.region, "--region");
  if (region) query.region = region;

  const endpointUrl =
    nonEmpty(values["endpoint-url"], "--endpoint-url") ?? nonEmpty(env.AWS_ENDPOINT_URL, "");
  if (endpointUrl) query.endpointUrl = endpointUrl;

  if (values["page-size"] !== undefined) {
    const pageSize = Number(values["page-size"]);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) {
      throw new UsageError(
        `--page-size must be a whole number from 1 to 10000 (got "${values["page-size"]}")`,
      );
    }
    query.pageSize = pageSize;
  }
  return { kind: "query", query };
}

function parseRaw(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      table: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      all: { type: "boolean" },
      profile: { type: "string" },
      lane: { type: "string" },
      principal: { type: "string" },
      action: { type: "string", multiple: true },
      outcome: { type: "string", multiple: true },
      format: { type: "string" },
      summary: { type: "boolean" },
      region: { type: "string" },
      "endpoint-url": { type: "string" },
      "page-size": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function nonEmpty(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "" && name.startsWith("--")) throw new UsageError(`${name} needs a value`);
  return trimmed === "" ? undefined : trimmed;
}

function timeBound(value: string, flag: string, nowMs: number): number {
  const parsed = parseTimeBound(value, nowMs);
  if (parsed === undefined) {
    throw new UsageError(
      `${flag} "${value}" is not a time: use ISO-8601 (2026-11-23T09:00:00Z) or 30m, 24h, 7d`,
    );
  }
  return parsed;
}

function principalFilter(value: string): PrincipalFilter {
  if (value.endsWith("*")) {
    const prefix = value.slice(0, -1);
    if (prefix === "" || prefix.includes("*"))
      throw new UsageError("--principal supports one trailing * only");
    return { kind: "prefix", prefix };
  }
  if (value.includes("*")) throw new UsageError("--principal supports one trailing * only");
  return { kind: "exact", arn: value };
}

function oneOfList<T extends string>(raw: readonly string[], allowed: readonly T[], flag: string): T[] {
  const chosen = new Set<T>();
  for (const item of raw.flatMap((entry) => entry.split(","))) {
    const value = item.trim();
    if (!(allowed as readonly string[]).includes(value)) {
      throw new UsageError(`${flag} "${value}" is not one of ${allowed.join(", ")}`);
    }
    chosen.add(value as T);
  }
  return [...chosen];
}
