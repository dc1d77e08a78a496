import { describe, expect, it } from "vitest";
import { buildAuditRecord } from "../../functions/broker/core/audit-record.ts";
import { parseCachedToken, serializeCachedToken } from "../../functions/broker/core/cached-token.ts";
import { clientRequestToken, refreshSlot } from "../../functions/broker/core/client-request-token.ts";
import { activeFailure, failureMark, mintDeadline } from "../../functions/broker/core/lease.ts";
import {
  acceptableAsFallback,
  decideCompareAndSwap,
  satisfies,
} from "../../functions/broker/core/token-need.ts";
import { isRefreshDue, isUsable } from "../../functions/broker/core/token-policy.ts";
import { parseTokenResponse } from "../../functions/broker/core/token-response.ts";
import type { CachedToken } from "../../shared/contracts.ts";
import { fingerprint } from "../../shared/fingerprint.ts";

const policy = { refreshAtFraction: 0.75, minValidityFraction: 0.25 };
const ISSUED = Date.parse("2026-01-01T00:00:00Z");
const HOUR = 3_600_000;

function token(value = "tok-A", lifetimeMs = HOUR): CachedToken {
  return {
    accessToken: value,
    issuedAt: new Date(ISSUED).toISOString(),
    expiresAt: new Date(ISSUED + lifetimeMs).toISOString(),
    fingerprint: fingerprint(value),
  };
}

describe("refresh policy", () => {
  it("is usable until exactly the minimum validity is left, then not", () => {
    const t = token();
    expect(isUsable(t, ISSUED, policy)).toBe(true);
    expect(isUsable(t, ISSUED + 0.75 * HOUR, policy)).toBe(true);
    expect(isUsable(t, ISSUED + 0.75 * HOUR + 1, policy)).toBe(false);
    expect(isUsable(t, ISSUED + 2 * HOUR, policy)).toBe(false);
  });

  it("is due at the refresh fraction, independently of the minimum validity", () => {
    const early = { refreshAtFraction: 0.5, minValidityFraction: 0.25 };
    const t = token();
    expect(isRefreshDue(t, ISSUED + 0.5 * HOUR - 1, early)).toBe(false);
    expect(isRefreshDue(t, ISSUED + 0.5 * HOUR, early)).toBe(true);
    expect(isUsable(t, ISSUED + 0.6 * HOUR, early)).toBe(true);
  });

  it("treats a token with a non-positive lifetime as unusable and due", () => {
    const broken = { ...token(), expiresAt: new Date(ISSUED).toISOString() };
    expect(isUsable(broken, ISSUED, policy)).toBe(false);
    expect(isRefreshDue(broken, ISSUED, policy)).toBe(true);
  });
});

describe("compare-and-swap decision", () => {
  const t = token();
  it("mints when the rejected token is the current one", () => {
    expect(decideCompareAndSwap(t, t.fingerprint, ISSUED + 1000, policy)).toBe("mint");
  });
  it("returns the current token when an older one was rejected", () => {
    expect(decideCompareAndSwap(t, "0123456789ab", ISSUED + 1000, policy)).toBe("return-current");
  });
  it("mints when there is no token or the current one is no longer usable", () => {
    expect(decideCompareAndSwap(undefined, "0123456789ab", ISSUED, policy)).toBe("mint");
    expect(decideCompareAndSwap(t, "0123456789ab", ISSUED + 0.9 * HOUR, policy)).toBe("mint");
  });
  it("never offers the rejected token as a fallback", () => {
    const need = { kind: "replace" as const, rejectedFingerprint: t.fingerprint };
    expect(satisfies(need, t, ISSUED, policy)).toBe(false);
    expect(acceptableAsFallback(need, t, ISSUED, policy)).toBe(false);
    expect(acceptableAsFallback({ kind: "handout" }, t, ISSUED + 0.7 * HOUR, policy)).toBe(true);
    expect(acceptableAsFallback({ kind: "handout" }, t, ISSUED + 0.8 * HOUR, policy)).toBe(false);
  });
});

describe("client request token", () => {
  it("is a deterministic RFC 4122 UUID (36 chars, inside Secrets Manager's 32-64)", () => {
    const a = clientRequestToken("genesys-prod", refreshSlot("v1", 0));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).toBe(clientRequestToken("genesys-prod", refreshSlot("v1", 999)));
  });
  it("differs per profile and per replaced version", () => {
    const base = clientRequestToken("p", refreshSlot("v1", 0));
    expect(clientRequestToken("q", refreshSlot("v1", 0))).not.toBe(base);
    expect(clientRequestToken("p", refreshSlot("v2", 0))).not.toBe(base);
  });
  it("uses the hour as the slot of a profile's very first token", () => {
    expect(refreshSlot(undefined, 10)).toBe(refreshSlot(undefined, HOUR - 1));
    expect(refreshSlot(undefined, 10)).not.toBe(refreshSlot(undefined, HOUR + 1));
  });
});

describe("lease rules", () => {
  const timings = { leaseMs: 15_000, transientFailureCoolDownMs: 5_000, permanentFailureCoolDownMs: 30_000 };
  it("leaves a margin between the identity-provider deadline and the end of the lease", () => {
    expect(mintDeadline(100_000, timings)).toBe(98_000);
    expect(mintDeadline(1_000, { ...timings, leaseMs: 500 })).toBe(900);
  });
  it("reports a failure mark only while it lasts", () => {
    const mark = failureMark("idp_invalid_client", true, 1_000, timings);
    expect(mark.untilMs).toBe(31_000);
    expect(activeFailure({ acquired: false, heldUntilMs: 31_000, failure: mark }, 30_999)).toEqual(mark);
    expect(activeFailure({ acquired: false, heldUntilMs: 31_000, failure: mark }, 31_000)).toBeUndefined();
    expect(activeFailure({ acquired: false, heldUntilMs: 31_000 }, 0)).toBeUndefined();
  });
});

describe("audit record", () => {
  it("carries fingerprint, version, expiry and caller but never the token", () => {
    const t = token("super-secret-token-value");
    const record = buildAuditRecord(
      {
        action: "handout",
        outcome: "success",
        profile: "p1",
        requestId: "r-1",
        caller: { callerArn: "arn:aws:iam::1:role/x", callerAccount: "1", sourceIp: "10.0.0.1" },
        token: t,
        secretVersion: "ver-1",
      },
      ISSUED,
      3,
      400,
    );
    expect(record).toEqual({
      pk: "profile#p1",
      sk: "2026-01-01T00:00:00.000Z#r-1#3",
      time: "2026-01-01T00:00:00.000Z",
      action: "handout",
      outcome: "success",
      profile: "p1",
      requestId: "r-1",
      callerArn: "arn:aws:iam::1:role/x",
      callerAccount: "1",
      sourceIp: "10.0.0.1",
      fingerprint: t.fingerprint,
      secretVersion: "ver-1",
      expiresAt: t.expiresAt,
      expiresAtEpoch: ISSUED / 1000 + 400 * 86_400,
    });
    expect(JSON.stringify(record)).not.toContain("super-secret-token-value");
  });

  it("keeps caller-chosen text printable and short", () => {
    const record = buildAuditRecord(
      { action: "refusal", outcome: "denied", profile: `x\n${"y".repeat(500)}`, requestId: "r" },
      ISSUED,
      1,
      1,
    );
    expect(record.profile.length).toBeLessThanOrEqual(131);
    expect(record.profile).not.toContain("\n");
  });
});

describe("identity-provider token response", () => {
  it("accepts a proper body, with expires_in as number or numeric string", () => {
    expect(parseTokenResponse('{"access_token":"a","token_type":"bearer","expires_in":300}')).toEqual({
      ok: true,
      token: { accessToken: "a", expiresInSeconds: 300 },
    });
    expect(parseTokenResponse('{"access_token":"a","expires_in":"86400"}').ok).toBe(true);
  });
  it.each([
    ["<html>oops</html>", "not JSON"],
    ["[1]", "not a JSON object"],
    ['{"expires_in":300}', "lacks access_token"],
    ['{"access_token":"a"}', "expires_in"],
    ['{"access_token":"a","expires_in":-5}', "expires_in"],
    ['{"access_token":"a","expires_in":300,"token_type":"mac"}', "bearer"],
  ])("rejects %s", (body, problem) => {
    const parsed = parseTokenResponse(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });
});

describe("cached token (secret string)", () => {
  it("round-trips and rejects anything inconsistent", () => {
    const t = token();
    expect(parseCachedToken(serializeCachedToken(t))).toEqual(t);
    expect(parseCachedToken("generated-placeholder-password")).toBeUndefined();
    expect(parseCachedToken(JSON.stringify({ ...t, fingerprint: "000000000000" }))).toBeUndefined();
    expect(parseCachedToken(JSON.stringify({ ...t, expiresAt: "soon" }))).toBeUndefined();
    expect(parseCachedToken(undefined)).toBeUndefined();
  });
});
