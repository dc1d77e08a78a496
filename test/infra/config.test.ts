import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../lib/config.ts";
import { loadConfig } from "../../lib/config-source.ts";

const minimal = {
  profiles: [
    { name: "default", genesysEnv: "mypurecloud.com", credentialsSecretName: "tokenstream/default" },
  ],
  topics: ["v2.users.u1.presence"],
  alarmEmail: "ops@example.com",
};

function problemsOf(raw: unknown): readonly string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("accepts the example configuration shipped in cdk.json", () => {
    const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8"));
    const config = parseConfig(cdkJson.context.tokenstream);
    expect(config.profiles[0]).toMatchObject({ name: "default", loginUrl: "https://login.mypurecloud.com" });
    expect(cdkJson.notices).toBe(false);
    expect(cdkJson.context["cli-telemetry"]).toBe(false);
  });

  it("fills secure, documented defaults", () => {
    const config = parseConfig(minimal);
    expect(config).toMatchObject({
      stackName: "Tokenstream",
      sourceKind: "genesys",
      genesysEnv: "mypurecloud.com",
      redundancy: 2,
      workerProfile: "default",
      workerCount: 1,
      natGateways: 2,
      invokerPrincipals: [],
      auditRetentionDays: 400,
      logRetentionDays: 90,
      offloadRetentionDays: 14,
      queueRetentionDays: 4,
      queueAgeAlarmSeconds: 900,
      refreshAtFraction: 0.75,
      minValidityFraction: 0.25,
      alarmsWithoutDestination: false,
      backlogAlarmDepth: 10_000,
      backlogAlarmAgeSeconds: 300,
    });
    expect(config.profiles[0]!.allowedPrincipals).toEqual([]);
    expect(config.auditBreakGlassRoleArn).toBeUndefined();
    expect(config.profiles[0]!.credentialsSecret).toEqual({ name: "tokenstream/default" });
    expect(config.brokerReservedConcurrency).toBeUndefined();
    expect(config.vpcId).toBeUndefined();
  });

  it("resolves an explicit login URL and a secret ARN", () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys-AbCdEf";
    const config = parseConfig({
      ...minimal,
      profiles: [{ name: "eu", loginUrl: "https://login.mypurecloud.ie/", credentialsSecretArn: arn }],
      genesysEnv: "mypurecloud.ie",
    });
    expect(config.profiles[0]).toEqual({
      name: "eu",
      loginUrl: "https://login.mypurecloud.ie",
      credentialsSecret: { arn },
      allowedPrincipals: [],
      lanes: 2,
    });
    expect(config.genesysEnv).toBe("mypurecloud.ie");
  });

  it("gives each profile token lanes: the highest redundancy of its shards, 2 if unused, at least that if set", () => {
    const profiles = [
      { name: "main", genesysEnv: "mypurecloud.com", credentialsSecretName: "a" },
      { name: "reports", genesysEnv: "mypurecloud.com", credentialsSecretName: "b" },
    ];
    const three = parseConfig({ ...minimal, profiles, redundancy: 3 });
    expect(three.profiles.map((p) => [p.name, p.lanes])).toEqual([
      ["main", 3],
      ["reports", 2],
    ]);
    const explicit = parseConfig({
      ...minimal,
      profiles: [
        { ...profiles[0], lanes: 4 },
        { ...profiles[1], lanes: 1 },
      ],
    });
    expect(explicit.profiles.map((p) => p.lanes)).toEqual([4, 1]);
    expect(problemsOf({ ...minimal, profiles: [{ ...profiles[0], lanes: 1 }], redundancy: 2 })).toEqual([
      expect.stringMatching(
        /^profiles\[0\]\.lanes: 1 is fewer than the redundancy 2 of shard "default" that uses this profile/,
      ),
    ]);
    for (const lanes of [0, 11, 1.5, "2"]) {
      expect(problemsOf({ ...minimal, profiles: [{ ...profiles[0], lanes }] })).toEqual([
        expect.stringMatching(/^profiles\[0\]\.lanes: must be an integer from 1 to 10/),
      ]);
    }
  });

  it("reports every contradiction of a bad configuration together", () => {
    const problems = problemsOf({
      profiles: [
        { name: "a", genesysEnv: "mypurecloud.com", loginUrl: "https://login.x", credentialsSecretName: "s" },
        {
          name: "a",
          credentialsSecretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:x",
          credentialsSecretName: "y",
        },
      ],
      topics: ["t", "t"],
      redundancy: 0,
      workerProfile: "missing",
      vpcId: "vpc-123",
      natGateways: 1,
      refreshAtFraction: 0.9,
      minValidityFraction: 0.3,
      logRetentionDays: 42,
      alarmEmail: "not-an-email",
      alarmTopicArn: "arn:aws:sns:eu-west-1:111122223333:alarms.fifo",
      invokerPrincipals: ["*"],
      queueRetentionDays: 14,
      offloadRetentionDays: 7,
      topicz: [],
    });
    const expected = [
      /profiles\[0\]\.: set either genesysEnv or loginUrl, not both/,
      /profiles\[1\]\.credentialsSecretArn: .* is not a complete Secrets Manager secret ARN/,
      /profiles\[1\]\.: set either credentialsSecretArn or credentialsSecretName, not both/,
      /profiles\[1\]\.: one of genesysEnv or loginUrl is required/,
      /profiles: name "a" is used more than once/,
      /topics: duplicated "t"/,
      /redundancy: must be an integer from 1 to 4/,
      /workerProfile: "missing" is not one of the profiles/,
      /vpcId: "vpc-123" is not a VPC id/,
      /natGateways: only applies to the VPC tokenstream creates/,
      /vpcId: looking up an existing VPC needs account and region/,
      /refreshAtFraction \(0\.9\) \+ minValidityFraction \(0\.3\) exceed 1/,
      /logRetentionDays: 42 is not one of/,
      /alarmEmail: "not-an-email" is not an e-mail address/,
      /alarmEmail: only applies to the alarm topic tokenstream creates/,
      /alarmTopicArn: CloudWatch alarms cannot publish to a FIFO topic/,
      /invokerPrincipals\[0\]: "\*" is not an IAM role, user or account-root ARN/,
      /offloadRetentionDays \(7\) must be at least queueRetentionDays \(14\)/,
      /topicz: is not a known setting/,
    ];
    for (const pattern of expected) {
      expect(
        problems.some((p) => pattern.test(p)),
        `${pattern} in\n${problems.join("\n")}`,
      ).toBe(true);
    }
    expect(problems.length).toBeGreaterThanOrEqual(expected.length);
  });

  it("lists every problem in the thrown message", () => {
    expect(() =>
      parseConfig({ topics: [], sourceKind: "kafka", alarmEmail: "ops@example.com" }),
    ).toThrowError(
      /3 problems[\s\S]*profiles: at least one profile is required[\s\S]*sourceKind: must be "genesys" or "generic"[\s\S]*topics: at least one topic/,
    );
  });

  it("requires a wss:// stream URL for the generic source kind and no Genesys region", () => {
    const problems = problemsOf({
      ...minimal,
      sourceKind: "generic",
      genesysEnv: "mypurecloud.com",
      genericStreamUrl: "http://stream.example.com",
    });
    expect(problems).toEqual([
      'genericStreamUrl: "http://stream.example.com" must be a wss:// URL',
      'genesysEnv: only applies to sourceKind "generic"'.replace("generic", "genesys"),
    ]);
    const ok = parseConfig({
      ...minimal,
      sourceKind: "generic",
      genericStreamUrl: "wss://stream.example.com/v1",
      genericTokenIn: "header",
    });
    expect(ok.genericStreamUrl).toBe("wss://stream.example.com/v1");
    expect(ok.genericTokenIn).toBe("header");
    expect(problemsOf({ ...minimal, genericTokenIn: "cookie" })).toEqual([
      'genericTokenIn: must be "query" or "header", got "cookie"',
    ]);
    expect(problemsOf({ ...minimal, genericTokenIn: "query" })).toEqual([
      'genericTokenIn: only applies to sourceKind "generic"',
    ]);
    expect(ok.genesysEnv).toBeUndefined();
  });

  it("needs the worker's Genesys region when its profile only has a login URL", () => {
    const problems = problemsOf({
      ...minimal,
      profiles: [{ name: "p", loginUrl: "https://login.example.com", credentialsSecretName: "s" }],
    });
    expect(problems).toEqual([
      expect.stringMatching(/^genesysEnv: sourceKind "genesys" needs the worker's Genesys region/),
    ]);
  });

  it("keeps the worker within the 20 Genesys channels per OAuth client, even mid-deployment", () => {
    expect(parseConfig({ ...minimal, workerCount: 2, redundancy: 2 }).workerCount).toBe(2);
    expect(parseConfig({ ...minimal, workerCount: 1, redundancy: 4 }).redundancy).toBe(4);
    expect(problemsOf({ ...minimal, workerCount: 3, redundancy: 2 })).toEqual([
      expect.stringMatching(
        /^workerCount \(3\) and redundancy \(2\): .* = 24 channels during a deployment exceed the 20/,
      ),
    ]);
    // 1,001 topics: two channels per session, so redundancy 2 on one task peaks at 2 x 1 x 2 x 2 x 2 = 16.
    const many = Array.from({ length: 1001 }, (_, i) => `v2.users.u${i}.presence`);
    expect(parseConfig({ ...minimal, topics: many }).topics).toHaveLength(1001);
    expect(problemsOf({ ...minimal, topics: many, redundancy: 3 })).toEqual([
      expect.stringMatching(/x 2 channel\(s\) per session = 24 channels during a deployment exceed the 20/),
    ]);
    const generic = { ...minimal, sourceKind: "generic", genericStreamUrl: "wss://stream.example.com" };
    expect(parseConfig({ ...generic, workerCount: 4, redundancy: 2 }).workerCount).toBe(4);
  });

  it("keeps the topics within what an ECS task definition can carry, as a clean comma list", () => {
    const long = Array.from(
      { length: 1000 },
      (_, i) => `v2.routing.queues.${String(i).padStart(36, "0")}.conversations`,
    );
    expect(problemsOf({ ...minimal, topics: long })).toEqual([
      expect.stringMatching(
        /^topics: 1000 topics take \d+ bytes as the worker's TOPICS variable, over the 60000/,
      ),
    ]);
    expect(problemsOf({ ...minimal, topics: ["a,b", "c d"] })).toEqual([
      expect.stringMatching(/^topics\[0\]: "a,b" must not contain a comma/),
      expect.stringMatching(/^topics\[1\]: "c d" must not contain a comma/),
    ]);
  });

  it("keeps the broker's profiles within Lambda's 4 KiB environment", () => {
    const profile = (i: number) => ({
      name: `profile-${i}`,
      genesysEnv: "mypurecloud.com",
      credentialsSecretArn: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:tokenstream/genesys/p${i}-AbCdEf`,
    });
    const five = Array.from({ length: 5 }, (_, i) => profile(i));
    expect(parseConfig({ ...minimal, profiles: five }).profiles).toHaveLength(5);
    const many = Array.from({ length: 14 }, (_, i) => profile(i));
    expect(problemsOf({ ...minimal, profiles: many })).toEqual([
      expect.stringMatching(/^profiles: 14 profiles need about \d+ bytes in the broker's PROFILES variable/),
    ]);
  });

  it("rejects a queue-age alarm that could never fire before messages expire", () => {
    expect(problemsOf({ ...minimal, queueRetentionDays: 1, queueAgeAlarmSeconds: 86_400 })).toEqual([
      expect.stringMatching(/^queueAgeAlarmSeconds: must be shorter than the queue retention/),
    ]);
  });
});

describe("loadConfig", () => {
  it("prefers -c config=<file> over the inline context", () => {
    const dir = mkdtempSync(join(tmpdir(), "tokenstream-config-"));
    const file = join(dir, "prod.json");
    writeFileSync(file, JSON.stringify({ ...minimal, stackName: "FromFile" }));
    const app = new App({ context: { config: file, tokenstream: { ...minimal, stackName: "Inline" } } });
    expect(loadConfig(app).stackName).toBe("FromFile");
  });

  it("reads the inline context, also when given as a JSON string on the command line", () => {
    expect(loadConfig(new App({ context: { tokenstream: minimal } })).profiles).toHaveLength(1);
    expect(loadConfig(new App({ context: { tokenstream: JSON.stringify(minimal) } })).topics).toEqual(
      minimal.topics,
    );
  });

  it("explains a missing or unreadable configuration", () => {
    expect(() => loadConfig(new App())).toThrowError(/no configuration/);
    expect(() => loadConfig(new App({ context: { config: "/nonexistent/tokenstream.json" } }))).toThrowError(
      /cannot be read/,
    );
    const dir = mkdtempSync(join(tmpdir(), "tokenstream-config-"));
    writeFileSync(join(dir, "bad.json"), "{ not json");
    expect(() => loadConfig(new App({ context: { config: join(dir, "bad.json") } }))).toThrowError(
      /not valid JSON/,
    );
  });
});
