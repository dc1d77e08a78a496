import type { AuditRecord } from "../../shared/contracts.ts";

const STRING_FIELDS = [
  "callerArn",
  "callerAccount",
  "sourceIp",
  "fingerprint",
  "secretVersion",
  "expiresAt",
  "errorCode",
  "detail",
] as const;

/**
 * Narrows a raw table item to an AuditRecord, or undefined when it lacks the key fields (an item written by
 * something else must not crash an audit export). Only known attributes are copied, so nothing unexpected
 * stored next to a record is ever printed.
 */
export function toAuditRecord(item: Record<string, unknown>): AuditRecord | undefined {
  const { pk, sk, time, action, outcome, profile, requestId } = item;
  if (typeof pk !== "string" || typeof sk !== "string" || typeof time !== "string") return undefined;
  if (typeof action !== "string" || typeof profile !== "string") return undefined;
  const record: AuditRecord = {
    pk,
    sk,
    time,
    action: action as AuditRecord["action"],
    outcome: (typeof outcome === "string" ? outcome : "error") as AuditRecord["outcome"],
    profile,
    requestId: typeof requestId === "string" ? requestId : "",
  };
  for (const field of STRING_FIELDS) {
    const value = item[field];
    if (typeof value === "string") record[field] = value;
  }
  if (typeof item.lane === "number") record.lane = item.lane;
  if (typeof item.expiresAtEpoch === "number") record.expiresAtEpoch = item.expiresAtEpoch;
  return record;
}
