import type { AuditAction, AuditRecord } from "../../../shared/contracts.ts";

/** Builds a well-formed audit record the way the broker writes one (key layout from shared/contracts.ts). */
export function auditRecord(
  time: string,
  action: AuditAction,
  fields: Partial<AuditRecord> & { profile?: string; requestId?: string; n?: number } = {},
): AuditRecord {
  const { n = 0, ...rest } = fields;
  const profile = fields.profile ?? "genesys-prod";
  const requestId = fields.requestId ?? `req-${time}-${action}`;
  return {
    pk: `profile#${profile}`,
    sk: `${time}#${requestId}#${n}`,
    time,
    action,
    outcome: action === "refusal" ? "denied" : action === "failure" ? "error" : "success",
    profile,
    requestId,
    ...rest,
  };
}
