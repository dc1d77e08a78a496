import { describe, expect, it } from "vitest";
import type { AuditQuery } from "../../../tools/audit/args.ts";
import { buildRequestPlan, matchesQuery } from "../../../tools/audit/request-plan.ts";
import { auditRecord } from "./records.ts";

const SINCE = Date.parse("2026-11-23T00:00:00.000Z");
const UNTIL = Date.parse("2026-11-23T12:00:00.000Z");
const base: AuditQuery = { table: "audit", format: "table", summary: false };

describe("buildRequestPlan", () => {
  it("with a profile: Query on the partition key with the time range on the sort key", () => {
    const plan = buildRequestPlan({ ...base, profile: "p1", sinceMs: SINCE, untilMs: UNTIL, pageSize: 5 });
    expect(plan).toEqual({
      operation: "query",
      TableName: "audit",
      KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :since AND :until",
      ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
      ExpressionAttributeValues: {
        ":pk": "profile#p1",
        ":since": "2026-11-23T00:00:00.000Z",
        ":until": "2026-11-23T12:00:00.000Z",
      },
      Limit: 5,
    });
  });

  it("with a profile and one bound only: >= since or < until", () => {
    expect(buildRequestPlan({ ...base, profile: "p1", sinceMs: SINCE }).KeyConditionExpression).toBe(
      "#pk = :pk AND #sk >= :since",
    );
    expect(buildRequestPlan({ ...base, profile: "p1", untilMs: UNTIL }).KeyConditionExpression).toBe(
      "#pk = :pk AND #sk < :until",
    );
    expect(buildRequestPlan({ ...base, profile: "p1" }).KeyConditionExpression).toBe("#pk = :pk");
  });

  it("without a profile: Scan with time, action and principal filters", () => {
    const plan = buildRequestPlan({
      ...base,
      sinceMs: SINCE,
      untilMs: UNTIL,
      actions: ["mint", "rotation"],
      principal: { kind: "prefix", prefix: "arn:aws:sts::1:assumed-role/worker/" },
    });
    expect(plan).toEqual({
      operation: "scan",
      TableName: "audit",
      FilterExpression:
        "#time >= :since AND #time < :until AND #action IN (:action0, :action1) AND begins_with(#caller, :caller)",
      ExpressionAttributeNames: { "#time": "time", "#action": "action", "#caller": "callerArn" },
      ExpressionAttributeValues: {
        ":since": "2026-11-23T00:00:00.000Z",
        ":until": "2026-11-23T12:00:00.000Z",
        ":action0": "mint",
        ":action1": "rotation",
        ":caller": "arn:aws:sts::1:assumed-role/worker/",
      },
    });
  });

  it("outcomes are an IN filter next to actions", () => {
    const plan = buildRequestPlan({ ...base, actions: ["rotation"], outcomes: ["error", "denied"] });
    expect(plan.FilterExpression).toBe("#action IN (:action0) AND #outcome IN (:outcome0, :outcome1)");
    expect(plan.ExpressionAttributeNames).toEqual({ "#action": "action", "#outcome": "outcome" });
    expect(plan.ExpressionAttributeValues).toEqual({
      ":action0": "rotation",
      ":outcome0": "error",
      ":outcome1": "denied",
    });
  });

  it("lane N is an equality filter; lane 0 also keeps records written before lanes existed", () => {
    const one = buildRequestPlan({ ...base, profile: "p", lane: 1 });
    expect(one.FilterExpression).toBe("#lane = :lane");
    expect(one.ExpressionAttributeValues?.[":lane"]).toBe(1);
    const zero = buildRequestPlan({ ...base, lane: 0 });
    expect(zero.FilterExpression).toBe("(#lane = :lane OR attribute_not_exists(#lane))");
    expect(zero.ExpressionAttributeNames).toEqual({ "#lane": "lane" });
  });

  it("an unbounded scan has no expressions at all", () => {
    expect(buildRequestPlan(base)).toEqual({ operation: "scan", TableName: "audit" });
  });

  it("exact principal is an equality filter", () => {
    const plan = buildRequestPlan({ ...base, profile: "p", principal: { kind: "exact", arn: "arn:x" } });
    expect(plan.FilterExpression).toBe("#caller = :caller");
    expect(plan.ExpressionAttributeValues?.[":caller"]).toBe("arn:x");
  });
});

describe("matchesQuery", () => {
  const query: AuditQuery = { ...base, sinceMs: SINCE, untilMs: UNTIL };
  it("keeps [since, until) by the parsed instant", () => {
    expect(matchesQuery(auditRecord("2026-11-23T00:00:00.000Z", "mint"), query)).toBe(true);
    expect(matchesQuery(auditRecord("2026-11-23T00:00:00Z", "mint"), query)).toBe(true);
    expect(matchesQuery(auditRecord("2026-11-22T23:59:59.999Z", "mint"), query)).toBe(false);
    expect(matchesQuery(auditRecord("2026-11-23T11:59:59.999Z", "mint"), query)).toBe(true);
    expect(matchesQuery(auditRecord("2026-11-23T12:00:00.000Z", "mint"), query)).toBe(false);
  });
  it("an unparseable time only passes an unbounded query", () => {
    expect(matchesQuery(auditRecord("garbage", "mint"), query)).toBe(false);
    expect(matchesQuery(auditRecord("garbage", "mint"), base)).toBe(true);
  });
});
