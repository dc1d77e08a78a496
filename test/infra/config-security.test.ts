import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../lib/config.ts";

const base = {
  profiles: [
    { name: "default", genesysEnv: "mypurecloud.com", credentialsSecretName: "tokenstream/default" },
  ],
  topics: ["v2.users.u1.presence"],
};

function problemsOf(raw: Record<string, unknown>): readonly string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

describe("security settings in the deployment configuration", () => {
  it("requires an alarm destination, or the explicit opt-out", () => {
    expect(problemsOf(base)).toEqual([
      "alarms: set alarmEmail or alarmTopicArn so alarms reach someone (or alarmsWithoutDestination: true to deploy alarms that notify nobody)",
    ]);
    expect(problemsOf({ ...base, alarmEmail: "ops@example.com" })).toEqual([]);
    expect(problemsOf({ ...base, alarmTopicArn: "arn:aws:sns:eu-west-1:111122223333:ops" })).toEqual([]);
    expect(parseConfig({ ...base, alarmsWithoutDestination: true }).alarmsWithoutDestination).toBe(true);
    expect(problemsOf({ ...base, alarmsWithoutDestination: false })).toHaveLength(1);
    expect(problemsOf({ ...base, alarmsWithoutDestination: true, alarmEmail: "ops@example.com" })).toEqual([
      "alarmsWithoutDestination: remove it, alarmEmail or alarmTopicArn already names a destination",
    ]);
    expect(problemsOf({ ...base, alarmsWithoutDestination: "yes" })[0]).toMatch(/must be true or false/);
  });

  it("accepts principal ARNs and patterns per profile, and rejects anything else", () => {
    const allowed = [
      "arn:aws:iam::111122223333:role/reporting-*",
      "arn:aws:iam::111122223333:user/alice",
      "arn:aws:iam::111122223333:root",
      "arn:aws:sts::111122223333:assumed-role/auditor/*",
    ];
    const config = parseConfig({
      ...base,
      alarmEmail: "ops@example.com",
      profiles: [{ ...base.profiles[0], allowedPrincipals: allowed }],
    });
    expect(config.profiles[0]!.allowedPrincipals).toEqual(allowed);
    const problems = problemsOf({
      ...base,
      alarmEmail: "ops@example.com",
      profiles: [
        { ...base.profiles[0], allowedPrincipals: ["*", "arn:aws:iam::*:role/x", 7, "arn:aws:s3:::bucket"] },
      ],
    });
    expect(problems).toHaveLength(4);
    for (const [i, problem] of problems.entries())
      expect(problem).toMatch(`profiles[0].allowedPrincipals[${i}]`);
    expect(
      problemsOf({
        ...base,
        alarmEmail: "ops@example.com",
        profiles: [{ ...base.profiles[0], allowedPrincipals: "x" }],
      }),
    ).toEqual(["profiles[0].allowedPrincipals: must be an array of principal ARNs or ARN patterns"]);
  });

  it("takes a break-glass role only as one exact role ARN", () => {
    const arn = "arn:aws:iam::111122223333:role/security/audit-break-glass";
    expect(
      parseConfig({ ...base, alarmEmail: "a@b.co", auditBreakGlassRoleArn: arn }).auditBreakGlassRoleArn,
    ).toBe(arn);
    for (const bad of ["arn:aws:iam::111122223333:role/*", "arn:aws:iam::111122223333:user/alice", 3]) {
      expect(problemsOf({ ...base, alarmEmail: "a@b.co", auditBreakGlassRoleArn: bad })[0]).toMatch(
        /^auditBreakGlassRoleArn: .* is not an IAM role ARN/,
      );
    }
  });

  it("turns the Object Lock audit archive on only when asked", () => {
    expect(parseConfig({ ...base, alarmEmail: "a@b.co" }).auditArchive).toBe(false);
    expect(parseConfig({ ...base, alarmEmail: "a@b.co", auditArchive: true }).auditArchive).toBe(true);
    expect(problemsOf({ ...base, alarmEmail: "a@b.co", auditArchive: "on" })).toEqual([
      'auditArchive: must be true or false, got "on"',
    ]);
  });

  it("bounds the backlog alarm thresholds", () => {
    const config = parseConfig({
      ...base,
      alarmEmail: "a@b.co",
      backlogAlarmDepth: 500,
      backlogAlarmAgeSeconds: 60,
    });
    expect(config).toMatchObject({ backlogAlarmDepth: 500, backlogAlarmAgeSeconds: 60 });
    expect(
      problemsOf({ ...base, alarmEmail: "a@b.co", backlogAlarmDepth: 0, backlogAlarmAgeSeconds: 1.5 }),
    ).toEqual([
      "backlogAlarmDepth: must be an integer from 1 to 10000000, got 0",
      "backlogAlarmAgeSeconds: must be an integer from 10 to 86400, got 1.5",
    ]);
  });
});
