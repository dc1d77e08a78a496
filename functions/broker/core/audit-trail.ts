import { type AuditEvent, buildAuditRecord, type Caller } from "./audit-record.ts";
import { BrokerError } from "./errors.ts";
import type { AuditSink, BrokerLog, BrokerMetrics, Clock } from "./ports.ts";

export type RequestAuditEvent = Omit<AuditEvent, "requestId" | "caller">;

/** Writes the audit items of one request (or one scheduled run), numbering them within it. */
export class RequestAudit {
  private sequence = 0;

  constructor(
    private readonly trail: AuditTrail,
    readonly requestId: string,
    readonly caller: Caller | undefined,
  ) {}

  /** Fails closed: a hand-out whose audit item cannot be written is not handed out. */
  async record(event: RequestAuditEvent): Promise<void> {
    this.sequence += 1;
    await this.trail.write({ ...event, requestId: this.requestId, caller: this.caller }, this.sequence);
  }

  /** For failure paths that already return an error: a lost audit item is logged and counted, not thrown. */
  async recordBestEffort(event: RequestAuditEvent): Promise<void> {
    try {
      await this.record(event);
    } catch {
      // already logged and counted by AuditTrail.write
    }
  }
}

export class AuditTrail {
  constructor(
    private readonly sink: AuditSink,
    private readonly clock: Clock,
    private readonly retentionDays: number,
    private readonly log: BrokerLog,
    private readonly metrics: BrokerMetrics,
  ) {}

  forRequest(requestId: string, caller?: Caller): RequestAudit {
    return new RequestAudit(this, requestId, caller);
  }

  async write(event: AuditEvent, sequence: number): Promise<void> {
    const record = buildAuditRecord(event, this.clock.now(), sequence, this.retentionDays);
    try {
      await this.sink.write(record);
    } catch (error) {
      this.metrics.count("AuditWriteFailures");
      this.log.error("audit write failed", {
        action: record.action,
        profile: record.profile,
        requestId: record.requestId,
        errorName: error instanceof Error ? error.name : "unknown",
      });
      throw new BrokerError("internal", "audit trail unavailable");
    }
  }
}
