import { beforeEach, describe, expect, it } from "vitest";
import { BrokerError, IdpError, TokenStoreError } from "../../functions/broker/core/errors.ts";
import type { TokenService } from "../../functions/broker/core/token-service.ts";
import { fingerprint } from "../../shared/fingerprint.ts";
import { fakeBroker, PROFILE } from "./support/fake-broker.ts";

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

  it("mints once, then serves from memory until the refresh point", async () => {
    const first = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(first.source).toBe("minted");
    expect(f.idp.seenCredentials[0]).toEqual({ clientId: "cid", clientSecret: "client-secret-value" });
    f.clock.advance(0.74 * HOUR);
    const second = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(second.source).toBe("memory");
    expect(second.stored.token.accessToken).toBe(first.stored.token.accessToken);
    expect(f.idp.calls).toBe(1);
    f.clock.advance(0.02 * HOUR);
    const third = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(third.source).toBe("minted");
    expect(third.stored.token.fingerprint).not.toBe(first.stored.token.fingerprint);
    expect(f.idp.calls).toBe(2);
    expect(f.audit.actions()).toEqual(["mint:success", "mint:success"]);
    expect(f.audit.records[1]?.detail).toBe(`replaces due ${first.stored.token.fingerprint}`);
  });

  it("takes the token another container stored instead of minting", async () => {
    await f.otherInstance().obtain(PROFILE, { kind: "handout" }, audit());
    const got = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(got.source).toBe("store");
    expect(f.idp.calls).toBe(1);
  });

  it("coalesces concurrent requests in one container into one mint", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => tokens.obtain(PROFILE, { kind: "handout" }, audit())),
    );
    expect(f.idp.calls).toBe(1);
    expect(new Set(results.map((r) => r.stored.version)).size).toBe(1);
  });

  it("compare-and-swap mints only for the current token", async () => {
    const first = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    const fp = first.stored.token.fingerprint;
    const swapped = await tokens.obtain(PROFILE, { kind: "replace", rejectedFingerprint: fp }, audit());
    expect(swapped.source).toBe("minted");
    expect(f.idp.calls).toBe(2);
    // A late report of the same (now old) token gets the new one without a mint.
    const late = await tokens.obtain(PROFILE, { kind: "replace", rejectedFingerprint: fp }, audit());
    expect(late.stored.token.fingerprint).toBe(swapped.stored.token.fingerprint);
    expect(f.idp.calls).toBe(2);
    expect(f.audit.records.at(-1)?.detail).toBe(`replaces rejected ${fp}`);
  });

  it("uses the replaced version as the refresh slot (idempotent ClientRequestToken)", async () => {
    const first = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    const second = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(second.stored.version).not.toBe(first.stored.version);
    expect(second.stored.version).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps serving a still-usable token while the identity provider fails", async () => {
    f = fakeBroker({ refreshAtFraction: 0.5, minValidityFraction: 0.25 });
    tokens = f.broker.tokens;
    const first = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    f.clock.advance(0.6 * HOUR);
    f.idp.script.push(new IdpError("unavailable", "answered 503", 503));
    const degraded = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
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
    await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    f.idp.script.push(new IdpError("invalid_client", "refused with 401", 401));
    await expect(tokens.obtain(PROFILE, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "idp_invalid_client",
    });
    expect(f.metrics.get("IdpInvalidClient")).toBe(1);
    // A second container within the cool-down fails fast without another identity-provider call.
    await expect(f.otherInstance().obtain(PROFILE, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "idp_invalid_client",
    });
    expect(f.idp.calls).toBe(2);
    // After the cool-down the next request tries again.
    f.clock.advance(31_000);
    const recovered = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(recovered.source).toBe("minted");
    expect(f.idp.calls).toBe(3);
  });

  it("a lease loser waits for the holder's new version instead of minting", async () => {
    await tokens.obtain(PROFILE, { kind: "handout" }, audit());
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
    const got = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(got.source).toBe("peer");
    expect(got.stored.version).toBe("peer-version");
    expect(f.idp.calls).toBe(1);
    expect(f.metrics.get("LeaseLost")).toBe(1);
  });

  it("takes over when the lease holder died (lease expired) and mints", async () => {
    await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    f.leases.items.set(PROFILE.name, { owner: "dead", leaseUntil: f.clock.now() + 1_000 });
    const got = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(got.source).toBe("minted");
    expect(f.idp.calls).toBe(2);
  });

  it("gives up with token_unavailable when no token appears within the wait bound", async () => {
    await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    const stuck = { owner: "stuck", leaseUntil: Number.MAX_SAFE_INTEGER };
    f.leases.items.set(PROFILE.name, stuck);
    await expect(tokens.obtain(PROFILE, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "token_unavailable",
    });
    expect(f.metrics.get("LeaseWaitTimeouts")).toBe(1);
    expect(f.idp.calls).toBe(1);
  });

  it("serves a usable token from memory while the store is throttled, else token_unavailable", async () => {
    f = fakeBroker({ refreshAtFraction: 0.5, minValidityFraction: 0.25 });
    tokens = f.broker.tokens;
    await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    f.clock.advance(0.6 * HOUR);
    f.store.getCurrent = async () => {
      throw new TokenStoreError("token store read failed (ThrottlingException)", "ThrottlingException");
    };
    const degraded = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(degraded.source).toBe("fallback");
    f.clock.advance(0.2 * HOUR);
    await expect(tokens.obtain(PROFILE, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "token_unavailable",
    });
    expect(f.idp.calls).toBe(1);
  });

  it("when another writer filled the refresh slot, returns its version and discards its own", async () => {
    await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    f.clock.advance(0.8 * HOUR);
    // The other container mints for the same slot while this one's identity-provider call is in flight.
    const other = f.otherInstance();
    f.idp.script.push(async () => {
      f.leases.items.delete(PROFILE.name);
      const theirs = await other.obtain(PROFILE, { kind: "handout" }, audit());
      expect(theirs.source).toBe("minted");
      return { accessToken: "late-duplicate-token", expiresInSeconds: HOUR_S };
    });
    const got = await tokens.obtain(PROFILE, { kind: "handout" }, audit());
    expect(got.source).toBe("peer");
    expect(got.stored.token.accessToken).not.toBe("late-duplicate-token");
    expect(f.audit.records.some((r) => r.detail?.includes("refresh slot already filled"))).toBe(true);
  });

  it("maps unexpected errors to a generic internal error without their message", async () => {
    f.store.getCurrent = async () => {
      throw new Error("connection string with password=hunter2");
    };
    const error = await tokens.obtain(PROFILE, { kind: "handout" }, audit()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe("internal");
    expect((error as BrokerError).message).not.toContain("hunter2");
  });
});
