import { MemoryTokenStore } from "../../../functions/broker/adapters/memory-token-store.ts";
import { CountingMetrics } from "../../../functions/broker/adapters/powertools.ts";
import { StaticCredentials } from "../../../functions/broker/adapters/static-credentials.ts";
import { AuditTrail } from "../../../functions/broker/core/audit-trail.ts";
import { createBroker } from "../../../functions/broker/core/broker.ts";
import { tokenLane } from "../../../functions/broker/core/token-lane.ts";
import type { TokenPolicy } from "../../../functions/broker/core/token-policy.ts";
import { TokenService } from "../../../functions/broker/core/token-service.ts";
import type { BrokerProfile } from "../../../shared/contracts.ts";
import { FakeClock, FakeIdp, MemoryAuditSink, MemoryLeaseStore, RecordingLog } from "./fakes.ts";

export const PROFILE: BrokerProfile = {
  name: "prod",
  loginUrl: "https://login.example.invalid",
  credentialsSecretArn: "creds-prod",
  tokenSecretArn: "token-prod",
};

/** PROFILE's lanes as the fake broker stores and leases them (default 2 lanes). */
export const LANE0 = tokenLane(PROFILE, 0);
export const LANE1 = tokenLane(PROFILE, 1);

export const LEASE = {
  leaseMs: 10_000,
  transientFailureCoolDownMs: 5_000,
  permanentFailureCoolDownMs: 30_000,
};

/** The pure core wired to in-memory fakes and a fake clock. */
export function fakeBroker(
  policy: TokenPolicy = { refreshAtFraction: 0.75, minValidityFraction: 0.25 },
  profile: BrokerProfile = PROFILE,
) {
  const clock = new FakeClock();
  const store = new MemoryTokenStore();
  const leases = new MemoryLeaseStore();
  const audit = new MemoryAuditSink();
  const idp = new FakeIdp();
  const log = new RecordingLog();
  const metrics = new CountingMetrics();
  const credentials = new StaticCredentials({
    prod: { clientId: "cid", clientSecret: "client-secret-value" },
  });
  const ports = { store, credentials, leases, audit, idp, clock, log, metrics, instanceId: "test" };
  const settings = { profiles: [profile], policy, lease: LEASE, auditRetentionDays: 30, pollIntervalMs: 100 };
  const broker = createBroker(settings, ports);
  const trail = new AuditTrail(audit, clock, 30, log, metrics);
  /** A second container sharing the same store, leases and audit (its own memory). */
  const otherInstance = () =>
    new TokenService({ ...ports, policy, lease: LEASE, instanceId: "other", pollIntervalMs: 100 });
  return { broker, clock, store, leases, audit, idp, log, metrics, trail, otherInstance, policy };
}

/**
 * Every place a token or client secret from `f` appears in its log lines or audit records (empty = no
 * leak). Unit files call it after each test, so the core's own logging is scanned as well.
 */
export function tokenLeaks(f: ReturnType<typeof fakeBroker>): string[] {
  const secrets = [...f.idp.issued, "client-secret-value"];
  const texts = [
    ...f.log.lines.map((text, i) => ({ where: `log line ${i}`, text })),
    ...f.audit.records.map((record, i) => ({ where: `audit record ${i}`, text: JSON.stringify(record) })),
  ];
  return texts.flatMap(({ where, text }) =>
    secrets.filter((secret) => text.includes(secret)).map(() => `${where} contains a token or secret`),
  );
}
