import type { CachedToken } from "../../../shared/contracts.ts";
import { fingerprint } from "../../../shared/fingerprint.ts";
import type { RequestAudit } from "./audit-trail.ts";
import { clientRequestToken, refreshSlot } from "./client-request-token.ts";
import { BrokerError, IdpError, TokenVersionConflictError, toBrokerError } from "./errors.ts";
import {
  activeFailure,
  failureMark,
  type LeaseFailureMark,
  type LeaseTimings,
  leaseUntil,
  mintDeadline,
} from "./lease.ts";
import type {
  BrokerLog,
  BrokerMetrics,
  Clock,
  CredentialsSource,
  IdentityProvider,
  LeaseStore,
  StoredToken,
  TokenCacheStore,
} from "./ports.ts";
import type { TokenLane } from "./token-lane.ts";
import { acceptableAsFallback, mintReason, needKey, satisfies, type TokenNeed } from "./token-need.ts";
import type { TokenPolicy } from "./token-policy.ts";

/**
 * Where a returned token came from: this container's memory, the token store, a mint by this
 * instance, a mint by another instance this one waited for, or an older still-usable token returned
 * because a refresh could not happen now.
 */
export type TokenSource = "memory" | "store" | "minted" | "peer" | "fallback";

export interface ObtainedToken {
  stored: StoredToken;
  source: TokenSource;
  /** Set when `source` is `fallback`: why no fresh token could be had. */
  degradedBy?: BrokerError;
}

export interface TokenServiceOptions {
  store: TokenCacheStore;
  credentials: CredentialsSource;
  leases: LeaseStore;
  idp: IdentityProvider;
  clock: Clock;
  log: BrokerLog;
  metrics: BrokerMetrics;
  policy: TokenPolicy;
  lease: LeaseTimings;
  /** Unique per container; lease owner ids derive from it. */
  instanceId: string;
  /** How often a lease loser looks for the new version (default 100 ms). */
  pollIntervalMs?: number;
  /** Longest a lease loser waits for another instance's token (default 2 x lease). */
  maxWaitMs?: number;
}

/**
 * Serve order: this container's memory, then the token store's current version, then a mint.
 * Single flight twice over: concurrent requests in one container share one promise per need, and
 * containers share a lease per profile lane; lease losers wait for the winner's new version.
 */
export class TokenService {
  /** By lane key: each lane of a profile is cached, minted and leased on its own. */
  private readonly memory = new Map<string, StoredToken>();
  private readonly flights = new Map<string, Promise<ObtainedToken>>();
  private flightCounter = 0;

  constructor(private readonly o: TokenServiceOptions) {}

  /** `audit` belongs to the request that triggers a mint; requests that join a flight share its mint. */
  async obtain(lane: TokenLane, need: TokenNeed, audit: RequestAudit): Promise<ObtainedToken> {
    const cached = this.memory.get(lane.key);
    if (cached && satisfies(need, cached.token, this.o.clock.now(), this.o.policy)) {
      this.o.metrics.count("MemoryCacheHits");
      return { stored: cached, source: "memory" };
    }
    const key = `${lane.key}\n${needKey(need)}`;
    let flight = this.flights.get(key);
    if (!flight) {
      flight = this.resolve(lane, need, audit).finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
    }
    return flight;
  }

  private async resolve(lane: TokenLane, need: TokenNeed, audit: RequestAudit): Promise<ObtainedToken> {
    let current: StoredToken | undefined;
    try {
      current = await this.o.store.getCurrent(lane);
    } catch (error) {
      this.o.metrics.count("TokenStoreErrors");
      this.o.log.warn("token store read failed", {
        profile: lane.profile.name,
        lane: lane.lane,
        errorName: errorName(error),
      });
      const failure = toBrokerError(error);
      const cached = this.memory.get(lane.key);
      if (cached && acceptableAsFallback(need, cached.token, this.o.clock.now(), this.o.policy)) {
        return this.fallback(cached, failure);
      }
      throw failure;
    }
    if (current) this.remember(lane, current);
    if (current && satisfies(need, current.token, this.o.clock.now(), this.o.policy)) {
      this.o.metrics.count("StoreCacheHits");
      return { stored: current, source: "store" };
    }
    return this.refreshUnderLease(lane, need, current, audit);
  }

  private async refreshUnderLease(
    lane: TokenLane,
    need: TokenNeed,
    seen: StoredToken | undefined,
    audit: RequestAudit,
  ): Promise<ObtainedToken> {
    const { clock, policy } = this.o;
    const pollIntervalMs = this.o.pollIntervalMs ?? 100;
    const waitUntil = clock.now() + (this.o.maxWaitMs ?? 2 * this.o.lease.leaseMs);
    const owner = `${this.o.instanceId}#${++this.flightCounter}`;
    let latest = seen;
    let lostOnce = false;
    for (;;) {
      const now = clock.now();
      const until = leaseUntil(now, this.o.lease);
      const attempt = await this.o.leases.tryAcquire(lane.key, owner, now, until).catch((error: unknown) => {
        this.o.log.error("lease store unavailable", {
          profile: lane.profile.name,
          lane: lane.lane,
          errorName: errorName(error),
        });
        throw new BrokerError("token_unavailable", "lease store unavailable");
      });
      if (attempt.acquired) return this.mintAsLeaseHolder(lane, need, owner, until, audit);

      const failed = activeFailure(attempt, now);
      if (failed) {
        const failure = new BrokerError(failed.code, "identity provider failed recently; retry later");
        if (latest && acceptableAsFallback(need, latest.token, now, policy))
          return this.fallback(latest, failure);
        throw failure;
      }
      if (!lostOnce) {
        lostOnce = true;
        this.o.metrics.count("LeaseLost");
        this.o.log.debug("lease held elsewhere; waiting for its token", {
          profile: lane.profile.name,
          lane: lane.lane,
        });
        // Someone else is refreshing; a token that may still be handed out is good enough meanwhile.
        if (latest && acceptableAsFallback(need, latest.token, now, policy)) {
          return { stored: latest, source: latest === seen ? "store" : "peer" };
        }
      }
      if (now >= waitUntil) {
        this.o.metrics.count("LeaseWaitTimeouts");
        throw new BrokerError("token_unavailable", "timed out waiting for another instance's token");
      }
      await clock.sleep(Math.min(pollIntervalMs, Math.max(1, attempt.heldUntilMs - now)));
      const polled = await this.o.store.getCurrent(lane).catch((error: unknown) => {
        this.o.metrics.count("TokenStoreErrors");
        this.o.log.warn("token store read failed while waiting", {
          profile: lane.profile.name,
          lane: lane.lane,
          errorName: errorName(error),
        });
        return undefined;
      });
      if (polled) {
        latest = polled;
        this.remember(lane, polled);
        if (satisfies(need, polled.token, clock.now(), policy)) return { stored: polled, source: "peer" };
      }
    }
  }

  private async mintAsLeaseHolder(
    lane: TokenLane,
    need: TokenNeed,
    owner: string,
    heldUntilMs: number,
    audit: RequestAudit,
  ): Promise<ObtainedToken> {
    const { clock, policy } = this.o;
    let failure: LeaseFailureMark | undefined;
    let current: StoredToken | undefined;
    try {
      // Double check: the previous holder may have stored a new version just before this lease began.
      current = await this.o.store.getCurrent(lane);
      if (current) this.remember(lane, current);
      if (current && satisfies(need, current.token, clock.now(), policy)) {
        return { stored: current, source: "peer" };
      }
      const credentials = await this.o.credentials.get(lane.profile);
      const issuedAtMs = clock.now();
      const minted = await this.o.idp.mint(lane.profile.loginUrl, credentials, {
        deadlineMs: mintDeadline(heldUntilMs, this.o.lease),
      });
      const token: CachedToken = {
        accessToken: minted.accessToken,
        issuedAt: new Date(issuedAtMs).toISOString(),
        expiresAt: new Date(issuedAtMs + minted.expiresInSeconds * 1000).toISOString(),
        fingerprint: fingerprint(minted.accessToken),
      };
      return await this.storeMinted(lane, need, token, current, audit);
    } catch (error) {
      const brokerError = toBrokerError(error);
      if (error instanceof IdpError) {
        this.o.metrics.count("MintFailures");
        if (error.permanent) this.o.metrics.count("IdpInvalidClient");
        failure = failureMark(brokerError.code, error.permanent, clock.now(), this.o.lease);
        this.o.log.error("identity provider failed", {
          profile: lane.profile.name,
          lane: lane.lane,
          kind: error.kind,
          status: error.status,
          permanent: error.permanent,
        });
        await audit.recordBestEffort({
          action: need.kind === "rotate" ? "rotation" : "mint",
          outcome: "error",
          profile: lane.profile.name,
          lane: lane.lane,
          errorCode: brokerError.code,
          detail: `${error.kind}: ${error.message}`,
        });
      } else if (!(error instanceof BrokerError)) {
        this.o.log.error("refresh failed", {
          profile: lane.profile.name,
          lane: lane.lane,
          errorName: errorName(error),
        });
      }
      const usable = current ?? this.memory.get(lane.key);
      if (usable && acceptableAsFallback(need, usable.token, clock.now(), policy)) {
        return this.fallback(usable, brokerError);
      }
      throw brokerError;
    } finally {
      await this.o.leases.release(lane.key, owner, failure).catch((error: unknown) => {
        this.o.log.warn("lease release failed; it expires on its own", {
          profile: lane.profile.name,
          lane: lane.lane,
          errorName: errorName(error),
        });
      });
    }
  }

  private async storeMinted(
    lane: TokenLane,
    need: TokenNeed,
    token: CachedToken,
    replaced: StoredToken | undefined,
    audit: RequestAudit,
  ): Promise<ObtainedToken> {
    const action = need.kind === "rotate" ? "rotation" : "mint";
    const requestToken = clientRequestToken(lane.key, refreshSlot(replaced?.version, this.o.clock.now()));
    let stored: StoredToken;
    try {
      stored = await this.o.store.putNew(lane, token, requestToken);
    } catch (error) {
      if (error instanceof TokenVersionConflictError) {
        // Another writer filled this refresh slot (its lease ran out mid-mint): its version wins.
        const winner = await this.o.store.getCurrent(lane);
        await audit.recordBestEffort({
          action,
          outcome: "error",
          profile: lane.profile.name,
          lane: lane.lane,
          token,
          errorCode: "token_unavailable",
          detail: "minted token discarded: refresh slot already filled by another instance",
        });
        if (winner && satisfies(need, winner.token, this.o.clock.now(), this.o.policy)) {
          this.remember(lane, winner);
          return { stored: winner, source: "peer" };
        }
        throw new BrokerError("token_unavailable", "token store version conflict");
      }
      // The token is valid: hand it out from this container even though other containers cannot see it.
      this.o.metrics.count("TokenStoreErrors");
      this.o.log.error("token store write failed", {
        profile: lane.profile.name,
        lane: lane.lane,
        errorName: errorName(error),
      });
      stored = { token, version: "unsaved" };
      await audit.recordBestEffort({
        action,
        outcome: "error",
        profile: lane.profile.name,
        lane: lane.lane,
        token,
        errorCode: "token_unavailable",
        detail: "minted token could not be cached",
      });
    }
    this.remember(lane, stored);
    this.o.metrics.count(action === "rotation" ? "Rotations" : "Mints");
    this.o.log.info("token minted", {
      profile: lane.profile.name,
      lane: lane.lane,
      action,
      fingerprint: token.fingerprint,
      version: stored.version,
      expiresAt: token.expiresAt,
    });
    await audit.recordBestEffort({
      action,
      outcome: "success",
      profile: lane.profile.name,
      lane: lane.lane,
      token,
      secretVersion: stored.version,
      detail: mintReason(need, replaced?.token, this.o.clock.now(), this.o.policy),
    });
    return { stored, source: "minted" };
  }

  private fallback(stored: StoredToken, failure: BrokerError): ObtainedToken {
    this.o.metrics.count("StaleFallbackServed");
    return { stored, source: "fallback", degradedBy: failure };
  }

  private remember(lane: TokenLane, stored: StoredToken): void {
    const known = this.memory.get(lane.key);
    // Never let an older version read from a lagging store replace a newer one in memory.
    if (known && known.version !== stored.version && known.token.issuedAt > stored.token.issuedAt) return;
    this.memory.set(lane.key, stored);
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown";
}
