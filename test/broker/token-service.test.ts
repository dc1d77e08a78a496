import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BrokerError, IdpError, TokenStoreError } from "../../functions/broker/core/errors.ts";
import type { TokenService } from "../../functions/broker/core/token-service.ts";
import { fingerprint } from "../../shared/fingerprint.ts";
import { fakeBroker, LANE0, PROFILE, tokenLeaks } from "./support/fake-broker.ts";

const HOUR_S = 3600;
const HOUR = HOUR_S * 1000;

describe("token service (pure core, fake clock)", () => {
  let f: ReturnType<typeof fakeBroker>;
  let tokens: TokenService;
  let requests = 0;
  const audit = () => f.trail.forRequest(`r-${++requests}`, { callerArn: "arn:test" });

  beforeEach(() => {
    f = fakeBroker();
    tokens = f.broker.tokens;
  });
  afterEach(() => {
    expect(tokenLeaks(f)).toEqual([]);
  });

  it("mints once, then serves from memory until the refresh point", async () => {
    const first = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(first.source).toBe("minted");
    expect(f.idp.seenCredentials[0]).toEqual({ clientId: "cid", clientSecret: "client-secret-value" });
    f.clock.advance(0.74 * HOUR);
    const second = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(second.source).toBe("memory");
    expect(second.stored.token.accessToken).toBe(first.stored.token.accessToken);
    expect(f.idp.calls).toBe(1);
    f.clock.advance(0.02 * HOUR);
    const third = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(third.source).toBe("minted");
    expect(third.stored.token.fingerprint).not.toBe(first.stored.token.fingerprint);
    expect(f.idp.calls).toBe(2);
    expect(f.audit.actions()).toEqual(["mint:success", "mint:success"]);
    expect(f.audit.records[1]?.detail).toBe(`replaces due ${first.stored.token.fingerprint}`);
  });

  it("takes the token another container stored instead of minting", async () => {
    await f.otherInstance().obtain(LANE0, { kind: "handout" }, audit());
    const got = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(got.source).toBe("store");
    expect(f.idp.calls).toBe(1);
  });

  it("coalesces concurrent requests in one container into one mint", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => tokens.obtain(LANE0, { kind: "handout" }, audit())),
    );
    expect(f.idp.calls).toBe(1);
    expect(new Set(results.map((r) => r.stored.version)).size).toBe(1);
  });

  it("compare-and-swap mints only for the current token", async () => {
    const first = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    const fp = first.stored.token.fingerprint;
    const swapped = await tokens.obtain(LANE0, { kind: "replace", rejectedFingerprint: fp }, audit());
    expect(swapped.source).toBe("minted");
    expect(f.idp.calls).toBe(2);
    // A late report of the same (now old) token gets the new one without a mint.
    const late = await tokens.obtain(LANE0, { kind: "replace", rejectedFingerprint: fp }, audit());
    expect(late.stored.token.fingerprint).toBe(swapped.stored.token.fingerprint);
    expect(f.idp.calls).toBe(2);
    expect(f.audit.records.at(-1)?.detail).toBe(`replaces rejected ${fp}`);
  });

  it("uses the replaced version as the refresh slot (idempotent ClientRequestToken)", async () => {
    const first = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    const second = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(second.stored.version).not.toBe(first.stored.version);
    expect(second.stored.version).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps serving a still-usable token while the identity provider fails", async () => {
    f = fakeBroker({ refreshAtFraction: 0.5, minValidityFraction: 0.25 });
    tokens = f.broker.tokens;
    const first = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.6 * HOUR);
    f.idp.script.push(new IdpError("unavailable", "answered 503", 503));
    const degraded = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(degraded.source).toBe("fallback");
    expect(degraded.degradedBy?.code).toBe("idp_unavailable");
    expect(degraded.stored.token.fingerprint).toBe(first.stored.token.fingerprint);
    expect(f.metrics.get("MintFailures")).toBe(1);
    expect(f.audit.records.at(-1)).toMatchObject({
      action: "mint",
      outcome: "error",
      errorCode: "idp_unavailable",
    });
  });

  it("refuses rather than hand out a token below the minimum validity, and cools down", async () => {
    await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    f.idp.script.push(new IdpError("invalid_client", "refused with 401", 401));
    await expect(tokens.obtain(LANE0, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "idp_invalid_client",
    });
    expect(f.metrics.get("IdpInvalidClient")).toBe(1);
    // A second container within the cool-down fails fast without another identity-provider call.
    await expect(f.otherInstance().obtain(LANE0, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "idp_invalid_client",
    });
    expect(f.idp.calls).toBe(2);
    // After the cool-down the next request tries again.
    f.clock.advance(31_000);
    const recovered = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(recovered.source).toBe("minted");
    expect(f.idp.calls).toBe(3);
  });

  it("a lease loser waits for the holder's new version instead of minting", async () => {
    await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    const now = f.clock.now();
    f.leases.items.set(PROFILE.name, { owner: "someone-else", leaseUntil: now + 10_000 });
    // The holder stores a new version after the loser has polled a few times.
    const newToken = "peer-minted-token";
    let polls = 0;
    const realGet = f.store.getCurrent.bind(f.store);
    f.store.getCurrent = async (p) => {
      if (++polls === 4) {
        await f.store.putNew(
          p,
          {
            accessToken: newToken,
            issuedAt: new Date(f.clock.now()).toISOString(),
            expiresAt: new Date(f.clock.now() + HOUR).toISOString(),
            fingerprint: fingerprint(newToken),
          },
          "peer-version",
        );
      }
      return realGet(p);
    };
    const got = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(got.source).toBe("peer");
    expect(got.stored.version).toBe("peer-version");
    expect(f.idp.calls).toBe(1);
    expect(f.metrics.get("LeaseLost")).toBe(1);
  });

  it("takes over when the lease holder died (lease expired) and mints", async () => {
    await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    f.leases.items.set(PROFILE.name, { owner: "dead", leaseUntil: f.clock.now() + 1_000 });
    const got = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(got.source).toBe("minted");
    expect(f.idp.calls).toBe(2);
  });

  it("gives up with token_unavailable when no token appears within the wait bound", async () => {
    await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    const stuck = { owner: "stuck", leaseUntil: Number.MAX_SAFE_INTEGER };
    f.leases.items.set(PROFILE.name, stuck);
    await expect(tokens.obtain(LANE0, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "token_unavailable",
    });
    expect(f.metrics.get("LeaseWaitTimeouts")).toBe(1);
    expect(f.idp.calls).toBe(1);
  });

  it("serves a usable token from memory while the store is throttled, else token_unavailable", async () => {
    f = fakeBroker({ refreshAtFraction: 0.5, minValidityFraction: 0.25 });
    tokens = f.broker.tokens;
    await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.6 * HOUR);
    f.store.getCurrent = async () => {
      throw new TokenStoreError("token store read failed (ThrottlingException)", "ThrottlingException");
    };
    const degraded = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(degraded.source).toBe("fallback");
    f.clock.advance(0.2 * HOUR);
    await expect(tokens.obtain(LANE0, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "token_unavailable",
    });
    expect(f.idp.calls).toBe(1);
  });

  it("when another writer filled the refresh slot, returns its version and discards its own", async () => {
    await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    // The other container mints for the same slot while this one's identity-provider call is in flight.
    const other = f.otherInstance();
    f.idp.script.push(async () => {
      f.leases.items.delete(PROFILE.name);
      const theirs = await other.obtain(LANE0, { kind: "handout" }, audit());
      expect(theirs.source).toBe("minted");
      return { accessToken: "late-duplicate-token", expiresInSeconds: HOUR_S };
    });
    const got = await tokens.obtain(LANE0, { kind: "handout" }, audit());
    expect(got.source).toBe("peer");
    expect(got.stored.token.accessToken).not.toBe("late-duplicate-token");
    expect(f.audit.records.some((r) => r.detail?.includes("refresh slot already filled"))).toBe(true);
  });

  it("lease store unavailable: token_unavailable (no IdP call), a usable token is still served", async () => {
    f = fakeBroker({ refreshAtFraction: 0.5, minValidityFraction: 0.25 });
    tokens = f.broker.tokens;
    await tokens.obtain(LANE0, { kind: "handout" }, audit());
    f.clock.advance(0.6 * HOUR);
    f.leases.tryAcquire = async () => {
      throw Object.assign(new Error("throttled"), { name: "ProvisionedThroughputExceededException" });
    };
    // Due but still usable: the memory token is not "satisfying", so a refresh is attempted and fails.
    await expect(f.otherInstance().obtain(LANE0, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "token_unavailable",
    });
    expect(f.idp.calls).toBe(1);
    expect(f.log.lines.some((l) => l.includes("lease store unavailable"))).toBe(true);
  });

  it("never hands out a token below the minimum validity, whatever fails when (seeded random walk)", async () => {
    const policy = { refreshAtFraction: 0.6, minValidityFraction: 0.3 };
    let served = 0;
    let refused = 0;
    for (const seed of [1, 2, 3, 4]) {
      f = fakeBroker(policy);
      const random = mulberry32(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const instances = [f.broker.tokens, f.otherInstance(), f.otherInstance()];
      const storeGet = f.store.getCurrent.bind(f.store);
      let storeDown = false;
      f.store.getCurrent = async (p) => {
        if (storeDown) throw new TokenStoreError("token store read failed (ThrottlingException)");
        return storeGet(p);
      };
      let lastSeen: string | undefined;
      for (let step = 0; step < 300; step++) {
        f.clock.advance(Math.floor(random() * 0.25 * HOUR));
        storeDown = random() < 0.1;
        f.idp.lifetimeSeconds = 300 + Math.floor(random() * 3300);
        if (random() < 0.3) {
          f.idp.script.push(
            random() < 0.7
              ? new IdpError("unavailable", "answered 503", 503)
              : new IdpError("invalid_client", "refused with 401", 401),
          );
        }
        const burst = Array.from({ length: 1 + Math.floor(random() * 4) }, async () => {
          const rejected = random() < 0.3 ? lastSeen : undefined;
          const need = rejected
            ? { kind: "replace" as const, rejectedFingerprint: rejected }
            : { kind: "handout" as const };
          try {
            const got = await pick(instances).obtain(LANE0, need, audit());
            const { token } = got.stored;
            const lifetime = Date.parse(token.expiresAt) - Date.parse(token.issuedAt);
            const left = Date.parse(token.expiresAt) - f.clock.now();
            expect(left, `seed ${seed} step ${step} ${got.source}`).toBeGreaterThanOrEqual(
              lifetime * policy.minValidityFraction,
            );
            if (rejected) expect(token.fingerprint).not.toBe(rejected);
            lastSeen = token.fingerprint;
            served++;
          } catch (error) {
            expect(error).toBeInstanceOf(BrokerError);
            refused++;
          }
        });
        await Promise.all(burst);
        f.idp.script.length = 0;
      }
    }
    // The walk exercised both outcomes, not only one.
    expect(served).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(20);
  });

  it("maps unexpected errors to a generic internal error without their message", async () => {
    f.store.getCurrent = async () => {
      throw new Error("connection string with password=hunter2");
    };
    const error = await tokens.obtain(LANE0, { kind: "handout" }, audit()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe("internal");
    expect((error as BrokerError).message).not.toContain("hunter2");
  });
});

/** Small seeded PRNG: the random walk is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
