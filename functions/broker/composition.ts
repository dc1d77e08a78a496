import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDbAuditSink } from "./adapters/dynamodb-audit-sink.ts";
import { DynamoDbLeaseStore } from "./adapters/dynamodb-lease-store.ts";
import { OAuthClient } from "./adapters/oauth-client.ts";
import { powertoolsLog, powertoolsMetrics } from "./adapters/powertools.ts";
import { SecretsManagerCredentials } from "./adapters/secrets-manager-credentials.ts";
import { SecretsManagerTokenStore } from "./adapters/secrets-manager-token-store.ts";
import type { BrokerConfig } from "./config.ts";
import { type Broker, type BrokerPorts, type BrokerSettings, createBroker } from "./core/broker.ts";
import type { BrokerLog, BrokerMetrics, Clock, CredentialsSource, TokenCacheStore } from "./core/ports.ts";
import { realClock } from "./core/ports.ts";

/** Lease/wait timings derived from LEASE_MS. */
export function brokerSettings(config: BrokerConfig): BrokerSettings {
  return {
    profiles: config.profiles,
    policy: { refreshAtFraction: config.refreshAtFraction, minValidityFraction: config.minValidityFraction },
    lease: {
      leaseMs: config.leaseMs,
      transientFailureCoolDownMs: Math.min(5_000, config.leaseMs),
      permanentFailureCoolDownMs: 30_000,
    },
    auditRetentionDays: config.auditRetentionDays,
    ...(config.laneSecretPrefix !== undefined ? { laneSecretPrefix: config.laneSecretPrefix } : {}),
  };
}

export interface AwsBrokerOptions {
  secretsManager?: SecretsManagerClient;
  dynamo?: DynamoDBClient;
  /** Replaces the Secrets Manager token cache (local runs). */
  tokenStore?: TokenCacheStore;
  /** Replaces the Secrets Manager credentials secret (local runs). */
  credentials?: CredentialsSource;
  clock?: Clock;
  log?: BrokerLog;
  metrics?: BrokerMetrics;
  fetch?: typeof fetch;
  instanceId?: string;
  /** Overrides of the derived settings (tests use short lease/poll timings). */
  settings?: Partial<BrokerSettings>;
  /** Identity-provider retry tuning (tests). */
  idp?: { baseBackoffMs?: number; maxBackoffMs?: number; maxRetryAfterMs?: number; maxAttempts?: number };
}

export interface ComposedBroker {
  broker: Broker;
  log: BrokerLog;
  metrics: BrokerMetrics;
}

/** Wires the core to Secrets Manager, DynamoDB and the OAuth endpoint with injected (or default) clients. */
export function composeBroker(config: BrokerConfig, options: AwsBrokerOptions = {}): ComposedBroker {
  const clock = options.clock ?? realClock;
  const log = options.log ?? powertoolsLog(config.serviceName);
  const metrics = options.metrics ?? powertoolsMetrics(config.metricsNamespace, config.serviceName);
  const needsSecrets = !options.tokenStore || !options.credentials;
  const secretsManager = options.secretsManager ?? (needsSecrets ? new SecretsManagerClient({}) : undefined);
  const dynamo = options.dynamo ?? new DynamoDBClient({});
  const ports: BrokerPorts = {
    store:
      options.tokenStore ??
      new SecretsManagerTokenStore(secretsManager!, (profile, lane, version) =>
        log.warn("token secret holds no readable token; treating as empty", { profile, lane, version }),
      ),
    credentials: options.credentials ?? new SecretsManagerCredentials(secretsManager!, clock),
    leases: new DynamoDbLeaseStore(dynamo, config.leaseTable),
    audit: new DynamoDbAuditSink(dynamo, config.auditTable, (record) =>
      log.warn("audit item already recorded", { pk: record.pk, sk: record.sk }),
    ),
    idp: new OAuthClient({
      clock,
      timeoutMs: config.idpTimeoutMs,
      fetch: options.fetch,
      ...options.idp,
    }),
    clock,
    log,
    metrics,
    instanceId: options.instanceId,
  };
  const broker = createBroker({ ...brokerSettings(config), ...options.settings }, ports);
  return { broker, log, metrics };
}
