import { randomUUID } from "node:crypto";
import type { BrokerProfile } from "../../../shared/contracts.ts";
import { AuditTrail } from "./audit-trail.ts";
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
import type { TokenPolicy } from "./token-policy.ts";
import { TokenService } from "./token-service.ts";

export interface BrokerSettings {
  profiles: readonly BrokerProfile[];
  policy: TokenPolicy;
  lease: LeaseTimings;
  auditRetentionDays: number;
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
  /** Function URL request -> response (never throws), or scheduled refresh -> summary (throws on failure). */
  handle(
    event: unknown,
    context?: { awsRequestId?: string },
  ): Promise<FunctionUrlResult | ScheduledRefreshSummary>;
  readonly tokens: TokenService;
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
  const api = new HttpApi({ profiles, tokens, trail, log, metrics, newRequestId: randomUUID });
  return {
    tokens,
    async handle(event, context) {
      if (isScheduledRefreshEvent(event)) {
        const requestId = context?.awsRequestId || randomUUID();
        return runScheduledRefresh(requestId, settings.profiles, tokens, trail, log);
      }
      if (isFunctionUrlEvent(event)) return api.handle(event);
      log.warn("unrecognised event ignored", { eventType: typeof event });
      return api.handle({});
    },
  };
}
