import { describe, expect, it } from "vitest";
import { buildAuditRecord } from "../../functions/broker/core/audit-record.ts";
import { isScheduledRefreshEvent } from "../../functions/broker/core/events.ts";
import {
  AUDIT_TABLE_PARTITION_KEY,
  AUDIT_TABLE_SORT_KEY,
  AUDIT_TABLE_TTL_ATTRIBUTE,
  SCHEDULED_REFRESH_INPUT,
} from "../../lib/token-broker.ts";

// The stack (lib/) and the broker (functions/) agree on what the broker writes and receives.
describe("broker <-> stack contract", () => {
  it("audit items carry the table's keys and its TTL attribute, in epoch seconds after the retention", () => {
    const now = Date.parse("2026-03-01T00:00:00.000Z");
    const record = buildAuditRecord(
      { action: "handout", outcome: "success", profile: "p", requestId: "r" },
      now,
      1,
      30,
    ) as unknown as Record<string, unknown>;
    expect(typeof record[AUDIT_TABLE_PARTITION_KEY]).toBe("string");
    expect(typeof record[AUDIT_TABLE_SORT_KEY]).toBe("string");
    expect(record[AUDIT_TABLE_TTL_ATTRIBUTE]).toBe(now / 1000 + 30 * 86_400);
  });

  it("the scheduler's input is recognised as a scheduled refresh", () => {
    expect(isScheduledRefreshEvent(JSON.parse(JSON.stringify(SCHEDULED_REFRESH_INPUT)))).toBe(true);
  });
});
