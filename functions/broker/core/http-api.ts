import type { BrokerErrorResponse, BrokerProfile, BrokerTokenResponse } from "../../../shared/contracts.ts";
import type { Caller } from "./audit-record.ts";
import type { AuditTrail, RequestAudit } from "./audit-trail.ts";
import type { ProfileAuthorizer } from "./authorization.ts";
import { BrokerError, toBrokerError } from "./errors.ts";
import type { FunctionUrlEvent, FunctionUrlResult } from "./events.ts";
import type { BrokerLog, BrokerMetrics } from "./ports.ts";
import {
  callerIdentity,
  parseRefreshRequest,
  profileNameFromBody,
  requestedLaneFromQuery,
  requestedProfileName,
  sourceIpOnly,
} from "./request-parsing.ts";
import { type RequestedLane, resolveRequestedLane, type TokenLane } from "./token-lane.ts";
import type { TokenNeed } from "./token-need.ts";
import type { ObtainedToken, TokenService } from "./token-service.ts";

const BASE_HEADERS = { "Cache-Control": "no-store", "Content-Type": "application/json" } as const;

interface Route {
  path: string;
  method: "GET" | "POST";
}
const ROUTES: Route[] = [
  { path: "/token", method: "GET" },
  { path: "/token/refresh", method: "POST" },
];

export interface HttpApiOptions {
  profiles: ReadonlyMap<string, BrokerProfile>;
  tokens: TokenService;
  /** Lane `lane` of `profile` (its secret and lease key). */
  laneOf: (profile: BrokerProfile, lane: number) => TokenLane;
  /** Per-profile caller check, before any token is looked up or minted. */
  authorizer: ProfileAuthorizer;
  trail: AuditTrail;
  log: BrokerLog;
  metrics: BrokerMetrics;
  newRequestId: () => string;
}

/** `GET /token` and `POST /token/refresh` over the Function URL payload. Never throws. */
export class HttpApi {
  constructor(private readonly o: HttpApiOptions) {}

  async handle(event: FunctionUrlEvent): Promise<FunctionUrlResult> {
    const requestId = event.requestContext?.requestId || this.o.newRequestId();
    const method = (event.requestContext?.http?.method ?? "").toUpperCase();
    const path = event.rawPath ?? event.requestContext?.http?.path ?? "";
    const caller = callerIdentity(event);
    const audit = this.o.trail.forRequest(requestId, caller ?? sourceIpOnly(event));
    const claimedProfile =
      requestedProfileName(event) ?? (method === "POST" ? profileNameFromBody(event) : undefined);
    let lane: TokenLane | undefined;
    try {
      if (!caller) throw new BrokerError("unauthenticated", "request carries no verified IAM identity");
      const route = ROUTES.find((r) => r.path === path);
      if (!route) throw new BrokerError("not_found", "no such path; use GET /token or POST /token/refresh");
      if (route.method !== method) {
        throw new BrokerError("method_not_allowed", `${path} accepts ${route.method} only`);
      }
      const { profile, requestedLane, need } = this.requestedNeed(event, route);
      this.o.authorizer.check(profile, caller);
      lane = this.o.laneOf(profile, resolveRequestedLane(requestedLane, profile));
      const obtained = await this.o.tokens.obtain(lane, need, audit);
      return await this.handOut(lane, obtained, audit, caller, need);
    } catch (error) {
      return this.refuse(error, { requestId, audit, claimedProfile, lane: lane?.lane, method, path });
    }
  }

  private requestedNeed(
    event: FunctionUrlEvent,
    route: Route,
  ): { profile: BrokerProfile; requestedLane: RequestedLane; need: TokenNeed } {
    if (route.method === "GET") {
      const name = requestedProfileName(event);
      if (!name) throw new BrokerError("bad_request", "query parameter profile is required");
      return {
        profile: this.profile(name),
        requestedLane: requestedLaneFromQuery(event),
        need: { kind: "handout" },
      };
    }
    const request = parseRefreshRequest(event);
    return {
      profile: this.profile(request.profile),
      requestedLane: request.lane,
      need: { kind: "replace", rejectedFingerprint: request.rejectedFingerprint },
    };
  }

  private profile(name: string): BrokerProfile {
    const profile = this.o.profiles.get(name);
    if (!profile) throw new BrokerError("unknown_profile", "no such profile");
    return profile;
  }

  private async handOut(
    lane: TokenLane,
    obtained: ObtainedToken,
    audit: RequestAudit,
    caller: Caller,
    need: TokenNeed,
  ): Promise<FunctionUrlResult> {
    const { token, version } = obtained.stored;
    const degraded = obtained.degradedBy ? `; refresh failed: ${obtained.degradedBy.code}` : "";
    await audit.record({
      action: "handout",
      outcome: "success",
      profile: lane.profile.name,
      lane: lane.lane,
      token,
      secretVersion: version,
      errorCode: obtained.degradedBy?.code,
      detail: `${need.kind === "replace" ? "refresh" : "get"} from ${obtained.source}${degraded}`,
    });
    this.o.metrics.count("TokenHandouts");
    this.o.log.info("token handed out", {
      requestId: audit.requestId,
      profile: lane.profile.name,
      lane: lane.lane,
      callerArn: caller.callerArn,
      fingerprint: token.fingerprint,
      version,
      source: obtained.source,
    });
    const body: BrokerTokenResponse = {
      accessToken: token.accessToken,
      expiresAt: token.expiresAt,
      fingerprint: token.fingerprint,
      version,
    };
    return {
      statusCode: 200,
      headers: { ...BASE_HEADERS },
      body: JSON.stringify(body),
      isBase64Encoded: false,
    };
  }

  private async refuse(
    error: unknown,
    request: {
      requestId: string;
      audit: RequestAudit;
      claimedProfile?: string;
      lane?: number;
      method: string;
      path: string;
    },
  ): Promise<FunctionUrlResult> {
    const brokerError = toBrokerError(error);
    if (brokerError.code === "internal" && !(error instanceof BrokerError)) {
      this.o.log.error("unexpected error", {
        requestId: request.requestId,
        errorName: error instanceof Error ? error.name : "unknown",
      });
    }
    const clientError = brokerError.status < 500;
    await request.audit.recordBestEffort({
      action: clientError ? "refusal" : "failure",
      outcome: clientError ? "denied" : "error",
      profile: request.claimedProfile ?? "-",
      lane: request.lane,
      errorCode: brokerError.code,
      detail: `${request.method} ${request.path}: ${brokerError.message}`,
    });
    this.o.metrics.count("TokenRefusals");
    this.o.log.warn("request refused", {
      requestId: request.requestId,
      code: brokerError.code,
      status: brokerError.status,
      profile: request.claimedProfile,
      lane: request.lane,
    });
    const body: BrokerErrorResponse = {
      error: { code: brokerError.code, message: brokerError.message, requestId: request.requestId },
    };
    const headers: Record<string, string> = { ...BASE_HEADERS };
    if (brokerError.code === "method_not_allowed") {
      const allowed = ROUTES.find((r) => r.path === request.path)?.method;
      if (allowed) headers.Allow = allowed;
    }
    return { statusCode: brokerError.status, headers, body: JSON.stringify(body), isBase64Encoded: false };
  }
}
