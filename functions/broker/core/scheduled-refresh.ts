import type { BrokerErrorCode, BrokerProfile } from "../../../shared/contracts.ts";
import type { AuditTrail } from "./audit-trail.ts";
import { toBrokerError } from "./errors.ts";
import type { BrokerLog } from "./ports.ts";
import type { TokenService } from "./token-service.ts";

export type ProfileRefreshOutcome =
  | { profile: string; outcome: "rotated"; fingerprint: string; version: string }
  | { profile: string; outcome: "fresh" | "rotated-elsewhere"; fingerprint: string; version: string }
  | { profile: string; outcome: "failed"; code: BrokerErrorCode };

export interface ScheduledRefreshSummary {
  kind: "scheduled-refresh";
  requestId: string;
  profiles: ProfileRefreshOutcome[];
}

/** Thrown after every profile was tried, so EventBridge Scheduler retries (idempotently) only on failure. */
export class ScheduledRefreshError extends Error {
  override readonly name = "ScheduledRefreshError";
  constructor(readonly summary: ScheduledRefreshSummary) {
    const failed = summary.profiles
      .filter((p) => p.outcome === "failed")
      .map((p) => `${p.profile} (${p.outcome === "failed" ? p.code : ""})`);
    super(`scheduled refresh failed for ${failed.join(", ")}`);
  }
}

/** Rotates every profile whose token is past its refresh point; the others are left alone. */
export async function runScheduledRefresh(
  requestId: string,
  profiles: readonly BrokerProfile[],
  tokens: TokenService,
  trail: AuditTrail,
  log: BrokerLog,
): Promise<ScheduledRefreshSummary> {
  const audit = trail.forRequest(requestId, { callerArn: "scheduler" });
  const outcomes = await Promise.all(
    profiles.map(async (profile): Promise<ProfileRefreshOutcome> => {
      try {
        const obtained = await tokens.obtain(profile, { kind: "rotate" }, audit);
        const { fingerprint } = obtained.stored.token;
        const version = obtained.stored.version;
        if (obtained.degradedBy)
          return { profile: profile.name, outcome: "failed", code: obtained.degradedBy.code };
        if (obtained.source === "minted")
          return { profile: profile.name, outcome: "rotated", fingerprint, version };
        const outcome = obtained.source === "peer" ? "rotated-elsewhere" : "fresh";
        return { profile: profile.name, outcome, fingerprint, version };
      } catch (error) {
        const code = toBrokerError(error).code;
        await audit.recordBestEffort({
          action: "rotation",
          outcome: "error",
          profile: profile.name,
          errorCode: code,
          detail: "scheduled refresh failed",
        });
        return { profile: profile.name, outcome: "failed", code };
      }
    }),
  );
  const summary: ScheduledRefreshSummary = { kind: "scheduled-refresh", requestId, profiles: outcomes };
  log.info("scheduled refresh done", {
    requestId,
    rotated: outcomes.filter((o) => o.outcome === "rotated").length,
    failed: outcomes.filter((o) => o.outcome === "failed").length,
  });
  if (outcomes.some((o) => o.outcome === "failed")) throw new ScheduledRefreshError(summary);
  return summary;
}
