import type { AuditRecord } from "../../shared/contracts.ts";
import type { AuditQuery } from "./args.ts";

/**
 * The DynamoDB request an audit query turns into, as plain data (same field names as the SDK's
 * QueryCommand / ScanCommand inputs with document-client values), so it can be built and tested without I/O.
 */
export interface AuditRequestPlan {
  operation: "query" | "scan";
  TableName: string;
  KeyConditionExpression?: string;
  FilterExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, string | number>;
  Limit?: number;
}

/**
 * With a profile: Query on `pk = profile#<name>` and a sort-key range (the sort key starts with the ISO time,
 * so `[since, until)` is a `BETWEEN` on the bare ISO bounds). Without: Scan with the time range as a filter.
 * Action, outcome, lane and principal are always filters.
 */
export function buildRequestPlan(query: AuditQuery): AuditRequestPlan {
  const names: Record<string, string> = {};
  const values: Record<string, string | number> = {};
  const filters: string[] = [];
  const since = query.sinceMs === undefined ? undefined : new Date(query.sinceMs).toISOString();
  const until = query.untilMs === undefined ? undefined : new Date(query.untilMs).toISOString();

  let keyCondition: string | undefined;
  if (query.profile !== undefined) {
    names["#pk"] = "pk";
    values[":pk"] = `profile#${query.profile}`;
    keyCondition = "#pk = :pk";
    if (since !== undefined || until !== undefined) names["#sk"] = "sk";
    if (since !== undefined && until !== undefined) {
      values[":since"] = since;
      values[":until"] = until;
      keyCondition += " AND #sk BETWEEN :since AND :until";
    } else if (since !== undefined) {
      values[":since"] = since;
      keyCondition += " AND #sk >= :since";
    } else if (until !== undefined) {
      values[":until"] = until;
      keyCondition += " AND #sk < :until";
    }
  } else {
    if (since !== undefined || until !== undefined) names["#time"] = "time";
    if (since !== undefined) {
      values[":since"] = since;
      filters.push("#time >= :since");
    }
    if (until !== undefined) {
      values[":until"] = until;
      filters.push("#time < :until");
    }
  }

  if (query.actions !== undefined && query.actions.length > 0) {
    names["#action"] = "action";
    const placeholders = query.actions.map((action, index) => {
      values[`:action${index}`] = action;
      return `:action${index}`;
    });
    filters.push(`#action IN (${placeholders.join(", ")})`);
  }

  if (query.outcomes !== undefined && query.outcomes.length > 0) {
    names["#outcome"] = "outcome";
    const placeholders = query.outcomes.map((outcome, index) => {
      values[`:outcome${index}`] = outcome;
      return `:outcome${index}`;
    });
    filters.push(`#outcome IN (${placeholders.join(", ")})`);
  }

  if (query.lane !== undefined) {
    names["#lane"] = "lane";
    values[":lane"] = query.lane;
    filters.push(query.lane === 0 ? "(#lane = :lane OR attribute_not_exists(#lane))" : "#lane = :lane");
  }

  if (query.principal !== undefined) {
    names["#caller"] = "callerArn";
    if (query.principal.kind === "exact") {
      values[":caller"] = query.principal.arn;
      filters.push("#caller = :caller");
    } else {
      values[":caller"] = query.principal.prefix;
      filters.push("begins_with(#caller, :caller)");
    }
  }

  const plan: AuditRequestPlan = { operation: keyCondition ? "query" : "scan", TableName: query.table };
  if (keyCondition) plan.KeyConditionExpression = keyCondition;
  if (filters.length > 0) plan.FilterExpression = filters.join(" AND ");
  if (Object.keys(names).length > 0) plan.ExpressionAttributeNames = names;
  if (Object.keys(values).length > 0) plan.ExpressionAttributeValues = values;
  if (query.pageSize !== undefined) plan.Limit = query.pageSize;
  return plan;
}

/**
 * Client-side check applied to every item DynamoDB returns: the exact time window on the parsed `time`
 * (string comparison on the key can disagree with instants at millisecond edges) and the record's shape.
 */
export function matchesQuery(record: AuditRecord, query: AuditQuery): boolean {
  const at = Date.parse(record.time);
  if (Number.isNaN(at)) return query.sinceMs === undefined && query.untilMs === undefined;
  if (query.sinceMs !== undefined && at < query.sinceMs) return false;
  if (query.untilMs !== undefined && at >= query.untilMs) return false;
  return true;
}
