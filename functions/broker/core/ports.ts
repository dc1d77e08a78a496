import type { AuditRecord, BrokerProfile, CachedToken } from "../../../shared/contracts.ts";
import type { LeaseAttempt, LeaseFailureMark } from "./lease.ts";
import type { TokenLane } from "./token-lane.ts";

/** A cached token together with the store's version id for it (Secrets Manager VersionId). */
export interface StoredToken {
  token: CachedToken;
  version: string;
}

/**
 * Where minted tokens are cached between containers, one secret per token lane (`lane.secretId`): Secrets
 * Manager in AWS, memory locally.
 * `getCurrent` returns the current (AWSCURRENT) version or undefined when there is none or it is not a
 * CachedToken. `putNew` makes a new current version; the same `clientRequestToken` with the same token
 * must be idempotent, a different token under an already used `clientRequestToken` must throw
 * `TokenVersionConflictError`.
 */
export interface TokenCacheStore {
  getCurrent(lane: TokenLane): Promise<StoredToken | undefined>;
  putNew(lane: TokenLane, token: CachedToken, clientRequestToken: string): Promise<StoredToken>;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** Reads a profile's OAuth client id/secret (operator-created secret in AWS). */
export interface CredentialsSource {
  get(profile: BrokerProfile): Promise<ClientCredentials>;
}

/** Cross-instance single flight: one lease item per profile lane (`TokenLane.key`). */
export interface LeaseStore {
  /** Takes the lease if it is free or expired at `nowMs`; otherwise reports the current holder's lease. */
  tryAcquire(profile: string, owner: string, nowMs: number, leaseUntilMs: number): Promise<LeaseAttempt>;
  /**
   * Ends `owner`'s lease (only if it still holds it). With `failure`, the lease stays until
   * `failure.untilMs` carrying the failure code, so waiting instances fail fast instead of minting.
   */
  release(profile: string, owner: string, failure?: LeaseFailureMark): Promise<void>;
}

/** Append-only audit trail. Must reject overwrites (the record already exists = already recorded). */
export interface AuditSink {
  write(record: AuditRecord): Promise<void>;
}

export interface MintedToken {
  accessToken: string;
  expiresInSeconds: number;
}

/** OAuth client-credentials grant against a profile's identity provider. */
export interface IdentityProvider {
  mint(
    loginUrl: string,
    credentials: ClientCredentials,
    options: { deadlineMs: number },
  ): Promise<MintedToken>;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type LogAttributes = Record<string, string | number | boolean | undefined>;

/** Structured logger; implementations never receive a token (callers pass fingerprints only). */
export interface BrokerLog {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

export type BrokerMetricName =
  | "TokenHandouts"
  | "TokenRefusals"
  | "MemoryCacheHits"
  | "StoreCacheHits"
  | "Mints"
  | "Rotations"
  | "MintFailures"
  | "IdpInvalidClient"
  | "LeaseLost"
  | "LeaseWaitTimeouts"
  | "TokenStoreErrors"
  | "AuditWriteFailures"
  | "StaleFallbackServed";

/** Counters (CloudWatch EMF through Powertools Metrics in AWS). */
export interface BrokerMetrics {
  count(name: BrokerMetricName, value?: number): void;
  /** Emits what was counted during one invocation. */
  flush(): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
