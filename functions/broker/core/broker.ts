import { randomUUID } from "node:crypto";
import type { BrokerProfile } from "../../../shared/contracts.ts";
import { AuditTrail } from "./audit-trail.ts";
import { ProfileAuthorizer } from "./authorization.ts";
import { type FunctionUrlResult, isFunctionUrlEvent, isScheduledRefreshEvent } from "./events.ts";
import { HttpApi } from "./http-api.ts";
import type { LeaseTimings } from "./lease.ts";
import type {
  AuditSink,
  BrokerLog,
  BrokerMetrics,
  Clock,
  CredentialsSource,
  IdentityProvider,
  LeaseStore,
  TokenCacheStore,
} from "./ports.ts";
import { runScheduledRefresh, type ScheduledRefreshSummary } from "./scheduled-refresh.ts";
import { type TokenLane, tokenLane } from "./token-lane.ts";
import type { TokenPolicy } from "./token-policy.ts";
import { TokenService } from "./token-service.ts";

export interface BrokerSettings {
  profiles: readonly BrokerProfile[];
  policy: TokenPolicy;
  lease: LeaseTimings;
  auditRetentionDays: number;
  /**
   * Prefix of the lane token-cache secret names (shared/token-lanes.ts); required with a Secrets Manager store.
   * Without it lane n's secret id is derived from lane 0's (in-memory stores).
   */
  laneSecretPrefix?: string;
  /** Lease loser poll interval (default 100 ms). */
  pollIntervalMs?: number;
}

export interface BrokerPorts {
  store: TokenCacheStore;
  credentials: CredentialsSource;
  leases: LeaseStore;
  audit: AuditSink;
  idp: IdentityProvider;
  clock: Clock;
  log: BrokerLog;
  metrics: BrokerMetrics;
  /** Unique per container (default: random UUID). */
  instanceId?: string;
}

export interface Broker {
  /**
   * Function URL request -> response (never throws), or scheduled refresh -> summary (throws on failure): the
   * local server's single entry. In AWS each has its own function (url-handler.ts, refresh-handler.ts).
   */
  handle(
    event: unknown,
    context?: { awsRequestId?: string },
  ): Promise<FunctionUrlResult | ScheduledRefreshSummary>;
  /** The Function URL entry point only: anything else (a scheduled-refresh payload too) is refused and audited. */
  handleFunctionUrl(event: unknown): Promise<FunctionUrlResult>;
  /** The schedule's entry point only: rotates every profile lane past its refresh or stagger point (throws on failure). */
  scheduledRefresh(context?: { awsRequestId?: string }): Promise<ScheduledRefreshSummary>;
  readonly tokens: TokenService;
  /** Lane `lane` of `profile` as this broker stores and leases it. */
  laneOf(profile: BrokerProfile, lane: number): TokenLane;
}

/** The whole broker from its ports: the same core in Lambda and in the local server. */
export function createBroker(settings: BrokerSettings, ports: BrokerPorts): Broker {
  const { clock, log, metrics } = ports;
  const profiles = new Map(settings.profiles.map((p) => [p.name, p]));
  const trail = new AuditTrail(ports.audit, clock, settings.auditRetentionDays, log, metrics);
  const tokens = new TokenService({
    store: ports.store,
    credentials: ports.credentials,
    leases: ports.leases,
    idp: ports.idp,
    clock,
    log,
    metrics,
    policy: settings.policy,
    lease: settings.lease,
    instanceId: ports.instanceId ?? randomUUID(),
    pollIntervalMs: settings.pollIntervalMs,
  });
  const authorizer = new ProfileAuthorizer(settings.profiles);
  const laneOf = (profile: BrokerProfile, lane: number) =>
    tokenLane(profile, lane, settings.laneSecretPrefix);
  const api = new HttpApi({
    profiles,
    tokens,
    laneOf,
    authorizer,
    trail,
    log,
    metrics,
    newRequestId: randomUUID,
  });
  const scheduledRefresh = (context?: { awsRequestId?: string }) =>
    runScheduledRefresh(context?.awsRequestId || randomUUID(), settings.profiles, {
      tokens,
      trail,
      log,
      policy: settings.policy,
      laneOf,
    });
  const functionUrl = (event: unknown) => {
    if (isFunctionUrlEvent(event)) return api.handle(event);
    log.warn("unrecognised event refused", { eventType: typeof event });
    return api.handle({});
  };
  return {
    tokens,
    laneOf,
    async handle(event, context) {
      if (isScheduledRefreshEvent(event)) return scheduledRefresh(context);
      return functionUrl(event);
    },
    handleFunctionUrl: functionUrl,
    scheduledRefresh,
  };
}
