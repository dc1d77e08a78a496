import type {
  AuditAction,
  AuditOutcome,
  AuditRecord,
  BrokerErrorCode,
  CachedToken,
} from "../../../shared/contracts.ts";

export interface Caller {
  callerArn?: string;
  callerAccount?: string;
  sourceIp?: string;
}

export interface AuditEvent {
  action: AuditAction;
  outcome: AuditOutcome;
  /** A configured profile name, or the raw (untrusted) name a refused request asked for. */
  profile: string;
  /** The token lane concerned; omitted when the request named no valid lane (a refusal). */
  lane?: number;
  requestId: string;
  caller?: Caller;
  token?: CachedToken;
  secretVersion?: string;
  errorCode?: BrokerErrorCode;
  detail?: string;
}

const MAX_FIELD = 128;

/** Audit fields may carry caller-chosen text: keep it printable and short. */
export function sanitizeField(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > MAX_FIELD ? `${printable.slice(0, MAX_FIELD)}...` : printable;
}

/**
 * Builds one append-only audit item. Key: `pk` = `profile#<profile>`,
 * `sk` = `<ISO time>#<requestId>#<sequence within the request>`. Only the token's fingerprint and expiry
 * are copied, never the token itself.
 */
export function buildAuditRecord(
  event: AuditEvent,
  nowMs: number,
  sequence: number,
  retentionDays: number,
): AuditRecord {
  const time = new Date(nowMs).toISOString();
  const profile = sanitizeField(event.profile || "-");
  const requestId = sanitizeField(event.requestId || "-");
  const record: AuditRecord = {
    pk: `profile#${profile}`,
    sk: `${time}#${requestId}#${sequence}`,
    time,
    action: event.action,
    outcome: event.outcome,
    profile,
    ...(event.lane !== undefined ? { lane: event.lane } : {}),
    requestId,
    expiresAtEpoch: Math.floor(nowMs / 1000) + Math.round(retentionDays * 86_400),
  };
  const caller = event.caller;
  if (caller?.callerArn) record.callerArn = sanitizeField(caller.callerArn);
  if (caller?.callerAccount) record.callerAccount = sanitizeField(caller.callerAccount);
  if (caller?.sourceIp) record.sourceIp = sanitizeField(caller.sourceIp);
  if (event.token) {
    record.fingerprint = event.token.fingerprint;
    record.expiresAt = event.token.expiresAt;
  }
  if (event.secretVersion) record.secretVersion = event.secretVersion;
  if (event.errorCode) record.errorCode = event.errorCode;
  if (event.detail) record.detail = sanitizeField(event.detail);
  return record;
}
