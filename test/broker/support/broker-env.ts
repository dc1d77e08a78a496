import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type AwsBrokerOptions, composeBroker } from "../../../functions/broker/composition.ts";
import type { BrokerConfig } from "../../../functions/broker/config.ts";
import type { FunctionUrlResult } from "../../../functions/broker/core/events.ts";
import { type Clock, realClock } from "../../../functions/broker/core/ports.ts";
import type { BrokerProfile } from "../../../shared/contracts.ts";
import { awsClients, type BrokerTables } from "./aws.ts";
import type { LeakGuard } from "./leak-guard.ts";

/** Real time shifted by `offsetMs`: lets a test jump every instance to "the moment of expiry" at once. */
export class OffsetClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  sleep(ms: number): Promise<void> {
    return realClock.sleep(ms);
  }
}

export function brokerConfig(
  profiles: BrokerProfile[],
  tables: BrokerTables,
  overrides: Partial<BrokerConfig> = {},
) {
  return {
    profiles,
    auditTable: tables.auditTable,
    leaseTable: tables.leaseTable,
    refreshAtFraction: 0.75,
    minValidityFraction: 0.25,
    auditRetentionDays: 30,
    idpTimeoutMs: 2000,
    leaseMs: 5000,
    serviceName: "token-broker-test",
    metricsNamespace: "tokenstream-test",
    ...overrides,
  } satisfies BrokerConfig;
}

/**
 * One broker "container": its own SDK clients and memory, real Powertools logger/metrics, the guard's
 * recording fetch, short retry timings.
 */
export function brokerInstance(
  config: BrokerConfig,
  guard: LeakGuard,
  options: AwsBrokerOptions & { secretsManager?: SecretsManagerClient } = {},
) {
  const clients = awsClients();
  const composed = composeBroker(config, {
    secretsManager: clients.secretsManager,
    dynamo: clients.dynamo,
    fetch: guard.fetch,
    idp: { baseBackoffMs: 20, maxBackoffMs: 100, maxRetryAfterMs: 1500 },
    settings: { pollIntervalMs: 50 },
    ...options,
  });
  return {
    ...composed,
    async call(event: unknown): Promise<FunctionUrlResult> {
      try {
        const result = (await composed.broker.handle(event)) as FunctionUrlResult;
        if (result.statusCode === 200) guard.note(JSON.parse(result.body).accessToken);
        return result;
      } finally {
        composed.metrics.flush();
      }
    },
  };
}
