import { describe, expect, it } from "vitest";
import { BrokerConfigError, loadBrokerConfig } from "../../functions/broker/config.ts";

const profile = {
  name: "prod",
  loginUrl: "https://login.mypurecloud.com/",
  credentialsSecretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:creds",
  tokenSecretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:token",
  allowedPrincipals: ["arn:aws:iam::111122223333:role/worker"],
};

describe("broker configuration", () => {
  it("reads the required values and applies the documented defaults", () => {
    const config = loadBrokerConfig({
      PROFILES: JSON.stringify([profile]),
      TOKEN_SECRET_NAME_PREFIX: "tokenstream/Stack-1a2b3c4d",
      AUDIT_TABLE: "audit",
      LEASE_TABLE: "lease",
    });
    expect(config).toEqual({
      profiles: [{ ...profile, loginUrl: "https://login.mypurecloud.com", lanes: 2 }],
      laneSecretPrefix: "tokenstream/Stack-1a2b3c4d",
      auditTable: "audit",
      leaseTable: "lease",
      refreshAtFraction: 0.75,
      minValidityFraction: 0.25,
      auditRetentionDays: 400,
      idpTimeoutMs: 5000,
      leaseMs: 15000,
      serviceName: "token-broker",
      metricsNamespace: "tokenstream",
    });
  });

  it("lanes: 1 to 10 per profile; lanes past 0 need the secret name prefix", () => {
    const base = { AUDIT_TABLE: "audit", LEASE_TABLE: "lease" };
    const single = loadBrokerConfig({ ...base, PROFILES: JSON.stringify([{ ...profile, lanes: 1 }]) });
    expect(single.profiles[0]?.lanes).toBe(1);
    expect(single.laneSecretPrefix).toBeUndefined();
    expect(() => loadBrokerConfig({ ...base, PROFILES: JSON.stringify([profile]) })).toThrow(
      /TOKEN_SECRET_NAME_PREFIX is required: profiles prod have lanes past 0/,
    );
    for (const lanes of [0, 11, 1.5, "2"]) {
      expect(() =>
        loadBrokerConfig({
          ...base,
          TOKEN_SECRET_NAME_PREFIX: "p",
          PROFILES: JSON.stringify([{ ...profile, lanes }]),
        }),
      ).toThrow(/PROFILES\[0\]\.lanes must be an integer from 1 to 10/);
    }
    expect(() =>
      loadBrokerConfig({
        ...base,
        TOKEN_SECRET_NAME_PREFIX: "bad prefix!",
        PROFILES: JSON.stringify([profile]),
      }),
    ).toThrow(/TOKEN_SECRET_NAME_PREFIX must be a Secrets Manager name prefix/);
  });

  it("lists every problem in one error", () => {
    let error: unknown;
    try {
      loadBrokerConfig({
        PROFILES: JSON.stringify([profile, { ...profile }, { name: "bad name!", loginUrl: "ftp://x" }]),
        REFRESH_AT_FRACTION: "1.5",
        LEASE_MS: "-3",
        IDP_TIMEOUT_MS: "soon",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BrokerConfigError);
    const problems = (error as BrokerConfigError).problems.join("\n");
    for (const fragment of [
      "AUDIT_TABLE is required",
      "LEASE_TABLE is required",
      'PROFILES[1].name "prod" is a duplicate',
      "PROFILES[2].name",
      "PROFILES[2].loginUrl",
      "PROFILES[2].credentialsSecretArn",
      "PROFILES[2].allowedPrincipals",
      "REFRESH_AT_FRACTION",
      "LEASE_MS",
      "IDP_TIMEOUT_MS",
    ]) {
      expect(problems).toContain(fragment);
    }
  });

  it("reads a configured refresh point, minimum validity, retention, timeout and lease", () => {
    const config = loadBrokerConfig({
      PROFILES: JSON.stringify([profile]),
      TOKEN_SECRET_NAME_PREFIX: "p",
      AUDIT_TABLE: "a",
      LEASE_TABLE: "l",
      REFRESH_AT_FRACTION: "0.6",
      MIN_VALIDITY_FRACTION: "0.3",
      AUDIT_RETENTION_DAYS: "90",
      IDP_TIMEOUT_MS: "2500",
      LEASE_MS: "8000",
    });
    expect(config).toMatchObject({
      refreshAtFraction: 0.6,
      minValidityFraction: 0.3,
      auditRetentionDays: 90,
      idpTimeoutMs: 2500,
      leaseMs: 8000,
    });
  });

  it("refuses a refresh point later than the minimum validity allows", () => {
    expect(() =>
      loadBrokerConfig({
        PROFILES: JSON.stringify([profile]),
        AUDIT_TABLE: "a",
        LEASE_TABLE: "l",
        REFRESH_AT_FRACTION: "0.9",
        MIN_VALIDITY_FRACTION: "0.25",
      }),
    ).toThrow(/must be <= 1/);
  });

  it("fails closed on a profile without its allowed principals", () => {
    const { allowedPrincipals: _, ...unlisted } = profile;
    for (const allowedPrincipals of [undefined, "arn:aws:iam::111122223333:role/worker", ["*"], [7]]) {
      expect(() =>
        loadBrokerConfig({
          PROFILES: JSON.stringify([{ ...unlisted, allowedPrincipals }]),
          AUDIT_TABLE: "a",
          LEASE_TABLE: "l",
        }),
      ).toThrow(/PROFILES\[0\]\.allowedPrincipals must be an array/);
    }
    const empty = loadBrokerConfig({
      PROFILES: JSON.stringify([{ ...profile, allowedPrincipals: [] }]),
      TOKEN_SECRET_NAME_PREFIX: "p",
      AUDIT_TABLE: "a",
      LEASE_TABLE: "l",
    });
    expect(empty.profiles[0]!.allowedPrincipals).toEqual([]);
  });

  it("rejects PROFILES that is not a JSON array", () => {
    expect(() => loadBrokerConfig({ PROFILES: "{", AUDIT_TABLE: "a", LEASE_TABLE: "l" })).toThrow(
      /not valid JSON/,
    );
    expect(() => loadBrokerConfig({ PROFILES: "[]", AUDIT_TABLE: "a", LEASE_TABLE: "l" })).toThrow(
      /non-empty/,
    );
  });
});
