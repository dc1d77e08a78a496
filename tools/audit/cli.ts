import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AuditRecord } from "../../shared/contracts.ts";
import { type AuditQuery, parseAuditArgs, USAGE, UsageError } from "./args.ts";
import { toAuditRecord } from "./audit-item.ts";
import { readAuditPages } from "./dynamodb-audit-source.ts";
import { createRecordWriter } from "./format.ts";
import { buildRequestPlan, matchesQuery } from "./request-plan.ts";
import { renderSummary, summarise } from "./summary.ts";

export interface AuditCliIo {
  stdout: (chunk: string) => void;
  stderr: (chunk: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  /** Builds the document client; tests and callers with their own client inject it. */
  createClient?: (query: AuditQuery) => DynamoDBDocumentClient;
}

export const EXIT_OK = 0;
export const EXIT_QUERY_FAILED = 1;
export const EXIT_USAGE = 2;

/** The whole `tokenstream-audit` command; returns the exit code instead of exiting so it can be tested. */
export async function runAuditCli(argv: readonly string[], io: AuditCliIo): Promise<number> {
  let query: AuditQuery;
  try {
    const command = parseAuditArgs(argv, io.env, (io.now ?? Date.now)());
    if (command.kind === "help") {
      io.stdout(`${USAGE}\n`);
      return EXIT_OK;
    }
    query = command.query;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`tokenstream-audit: ${error.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  const client = (io.createClient ?? createDocumentClient)(query);
  const plan = buildRequestPlan(query);
  const writer = query.summary ? undefined : createRecordWriter(query.format, io.stdout);
  const kept: AuditRecord[] = [];
  let skipped = 0;
  try {
    for await (const page of readAuditPages(client, plan)) {
      for (const item of page) {
        const record = toAuditRecord(item);
        if (record === undefined) {
          skipped += 1;
          continue;
        }
        if (!matchesQuery(record, query)) continue;
        if (writer) writer.write(record);
        else kept.push(record);
      }
    }
  } catch (error) {
    io.stderr(`tokenstream-audit: query on table "${query.table}" failed: ${describeAwsError(error)}\n`);
    return EXIT_QUERY_FAILED;
  } finally {
    if (!io.createClient) client.destroy();
  }
  if (writer) writer.end();
  else io.stdout(renderSummary(summarise(kept), query.format));
  if (skipped > 0) io.stderr(`tokenstream-audit: skipped ${skipped} item(s) that are not audit records\n`);
  return EXIT_OK;
}

export function createDocumentClient(query: AuditQuery): DynamoDBDocumentClient {
  const config: DynamoDBClientConfig = {};
  if (query.region) config.region = query.region;
  if (query.endpointUrl) config.endpoint = query.endpointUrl;
  return DynamoDBDocumentClient.from(new DynamoDBClient(config));
}

/** SDK errors carry a name and a message that never includes a credential; anything else gets its message only. */
function describeAwsError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "ResourceNotFoundException") return "table not found (check --table and --region)";
    if (error.name === "CredentialsProviderError") return `no AWS credentials found (${error.message})`;
    if (/region is missing/i.test(error.message)) return "no AWS region: pass --region or set AWS_REGION";
    return `${error.name}: ${error.message}`;
  }
  return String(error);
}
