import { describe, expect, it } from "vitest";
import { ProfileAuthorizer, patternMatchers } from "../../functions/broker/core/authorization.ts";
import { BrokerError } from "../../functions/broker/core/errors.ts";
import type { BrokerProfile } from "../../shared/contracts.ts";

const profile = (allowedPrincipals?: string[]): BrokerProfile => ({
  name: "prod",
  loginUrl: "https://login.example",
  credentialsSecretArn: "arn:c",
  tokenSecretArn: "arn:t",
  ...(allowedPrincipals ? { allowedPrincipals } : {}),
});

function allowed(patterns: string[] | undefined, callerArn: string | undefined): boolean {
  const p = profile(patterns);
  try {
    new ProfileAuthorizer([p]).check(p, callerArn === undefined ? {} : { callerArn });
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe("forbidden");
    expect((error as BrokerError).status).toBe(403);
    return false;
  }
}

describe("per-profile authorization", () => {
  const role = "arn:aws:iam::111122223333:role/service/tokenstream-worker";

  it("a role ARN covers its own sessions (path dropped) and nothing else", () => {
    expect(allowed([role], "arn:aws:sts::111122223333:assumed-role/tokenstream-worker/task-1")).toBe(true);
    expect(allowed([role], role)).toBe(true);
    expect(allowed([role], "arn:aws:sts::111122223333:assumed-role/tokenstream-worker-2/task-1")).toBe(false);
    expect(allowed([role], "arn:aws:sts::444455556666:assumed-role/tokenstream-worker/task-1")).toBe(false);
    expect(allowed([role], "arn:aws-cn:sts::111122223333:assumed-role/tokenstream-worker/task-1")).toBe(
      false,
    );
    expect(allowed([role], "arn:aws:iam::111122223333:user/tokenstream-worker")).toBe(false);
  });

  it("* matches any run of characters; other regex characters are literal", () => {
    const patterns = ["arn:aws:iam::111122223333:role/audit*", "arn:aws:iam::111122223333:user/a.b"];
    expect(allowed(patterns, "arn:aws:sts::111122223333:assumed-role/auditor/alice")).toBe(true);
    expect(allowed(patterns, "arn:aws:iam::111122223333:user/a.b")).toBe(true);
    expect(allowed(patterns, "arn:aws:iam::111122223333:user/aXb")).toBe(false);
    expect(allowed(patterns, "arn:aws:sts::111122223333:assumed-role/reader/alice")).toBe(false);
    expect(patternMatchers("arn:aws:iam::111122223333:user/x")).toHaveLength(1);
  });

  it("an empty list refuses everyone; a missing list (in-process brokers only) allows every verified caller", () => {
    expect(allowed([], "arn:aws:iam::111122223333:user/x")).toBe(false);
    expect(allowed(["arn:aws:iam::111122223333:user/*"], undefined)).toBe(false);
    expect(allowed(undefined, "arn:aws:iam::111122223333:user/x")).toBe(true);
  });
});
