import { type DynamoDBDocumentClient, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditRequestPlan } from "./request-plan.ts";

/**
 * Runs a request plan against the audit table, one DynamoDB page at a time, following LastEvaluatedKey until
 * the table is exhausted. Yields each page's raw items (a page may be empty when a filter removed everything).
 */
export async function* readAuditPages(
  client: DynamoDBDocumentClient,
  plan: AuditRequestPlan,
): AsyncGenerator<Record<string, unknown>[]> {
  const { operation, ...input } = plan;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page =
      operation === "query"
        ? await client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }))
        : await client.send(new ScanCommand({ ...input, ExclusiveStartKey: startKey }));
    yield (page.Items ?? []) as Record<string, unknown>[];
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}
