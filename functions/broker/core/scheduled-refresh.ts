import type { BrokerErrorCode, BrokerProfile, CachedToken } from "../../../shared/contracts.ts";
import type { AuditTrail, RequestAudit } from "./audit-trail.ts";
import { toBrokerError } from "./errors.ts";
import { laneStagger } from "./lane-stagger.ts";
import type { BrokerLog } from "./ports.ts";
import { laneCount, type TokenLane } from "./token-lane.ts";
import type { TokenPolicy } from "./token-policy.ts";
import type { TokenService } from "./token-service.ts";

export type LaneRefreshOutcome =
  | { profile: string; lane: number; outcome: "rotated"; fingerprint: string; version: string }
  | {
      profile: string;
      lane: number;
      outcome: "fresh" | "rotated-elsewhere";
      fingerprint: string;
      version: string;
    }
  | { profile: string; lane: number; outcome: "failed"; code: BrokerErrorCode };

export interface ScheduledRefreshSummary {
  kind: "scheduled-refresh";
  requestId: string;
  /** One entry per lane of every profile. */
  profiles: LaneRefreshOutcome[];
}

/** Thrown after every lane was tried, so EventBridge Scheduler retries (idempotently) only on failure. */
export class ScheduledRefreshError extends Error {
  override readonly name = "ScheduledRefreshError";
  constructor(readonly summary: ScheduledRefreshSummary) {
    const failed = summary.profiles
      .filter((p) => p.outcome === "failed")
      .map((p) => `${p.profile} lane ${p.lane} (${p.outcome === "failed" ? p.code : ""})`);
    super(`scheduled refresh failed for ${failed.join(", ")}`);
  }
}

export interface ScheduledRefreshContext {
  tokens: TokenService;
  trail: AuditTrail;
  log: BrokerLog;
  policy: TokenPolicy;
  laneOf: (profile: BrokerProfile, lane: number) => TokenLane;
}

/**
 * Rotates every lane of every profile whose token is past its refresh point. Lane 0 goes first: the other
 * lanes are also rotated when they reach their stagger point relative to lane 0's issue time, so a profile's
 * lanes never rotate or expire together.
 */
export async function runScheduledRefresh(
  requestId: string,
  profiles: readonly BrokerProfile[],
  context: ScheduledRefreshContext,
): Promise<ScheduledRefreshSummary> {
  const audit = context.trail.forRequest(requestId, { callerArn: "scheduler" });
  const perProfile = await Promise.all(
    profiles.map(async (profile) => {
      const first = await refreshLane(context.laneOf(profile, 0), undefined, audit, context);
      const lanes = laneCount(profile);
      const others = await Promise.all(
        Array.from({ length: lanes - 1 }, (_, i) => {
          const stagger = first.token && laneStagger(first.token, i + 1, lanes, context.policy);
          return refreshLane(context.laneOf(profile, i + 1), stagger, audit, context);
        }),
      );
      return [first.outcome, ...others.map((o) => o.outcome)];
    }),
  );
  const outcomes = perProfile.flat();
  const summary: ScheduledRefreshSummary = { kind: "scheduled-refresh", requestId, profiles: outcomes };
  context.log.info("scheduled refresh done", {
    requestId,
    rotated: outcomes.filter((o) => o.outcome === "rotated").length,
    failed: outcomes.filter((o) => o.outcome === "failed").length,
  });
  if (outcomes.some((o) => o.outcome === "failed")) throw new ScheduledRefreshError(summary);
  return summary;
}

async function refreshLane(
  lane: TokenLane,
  stagger: ReturnType<typeof laneStagger>,
  audit: RequestAudit,
  { tokens }: ScheduledRefreshContext,
): Promise<{ outcome: LaneRefreshOutcome; token?: CachedToken }> {
  const where = { profile: lane.profile.name, lane: lane.lane };
  try {
    const obtained = await tokens.obtain(
      lane,
      stagger ? { kind: "rotate", stagger } : { kind: "rotate" },
      audit,
    );
    const { token, version } = obtained.stored;
    const { fingerprint } = token;
    if (obtained.degradedBy) {
      return { outcome: { ...where, outcome: "failed", code: obtained.degradedBy.code }, token };
    }
    if (obtained.source === "minted")
      return { outcome: { ...where, outcome: "rotated", fingerprint, version }, token };
    const outcome = obtained.source === "peer" ? "rotated-elsewhere" : "fresh";
    return { outcome: { ...where, outcome, fingerprint, version }, token };
  } catch (error) {
    const code = toBrokerError(error).code;
    await audit.recordBestEffort({
      action: "rotation",
      outcome: "error",
      ...where,
      errorCode: code,
      detail: "scheduled refresh failed",
    });
    return { outcome: { ...where, outcome: "failed", code } };
  }
}
