import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import * as cxapi from "aws-cdk-lib/cx-api";
import { beforeAll, describe, expect, it } from "vitest";
import { CONTAINER_USER } from "../../lib/event-relay.ts";
import { brokerInvokeGuard } from "../../lib/invoke-guard.ts";
import { TOKEN_KEY_ADMIN_ACTIONS, TOKEN_SECRET_DENIED_ACTIONS } from "../../lib/token-cache.ts";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { OFFLOAD_OBJECT_PREFIX } from "../../shared/contracts.ts";
import { INVOKER_ROLE, PROFILE_ARN_SECRET, renderJoin, testApp, testConfig } from "./helpers.ts";

type Json = Record<string, unknown>;
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Json;
}
type Resources = Record<string, { Type: string; Properties: Json; DeletionPolicy?: string }>;

/** A CloudFormation Fn::Sub placeholder, `${name}`. */
const sub = (name: string) => ["$", "{", name, "}"].join("");
/** The bootstrapped CloudFormation execution role, with Fn::Sub placeholders. */
const CFN_EXEC_ROLE = `arn:${sub("AWS::Partition")}:iam::${sub("AWS::AccountId")}:role/cdk-hnb659fds-cfn-exec-role-${sub("AWS::AccountId")}-${sub("AWS::Region")}`;
const BREAK_GLASS = "arn:aws:iam::111122223333:role/audit-break-glass";
const REPORTING = "arn:aws:iam::111122223333:role/reporting-*";

let resources: Resources;
let outputs: Record<string, { Value: unknown }>;

beforeAll(() => {
  const app = testApp();
  const stack = addTokenstream(
    app,
    testConfig({
      auditBreakGlassRoleArn: BREAK_GLASS,
      profiles: [
        {
          name: "default",
          genesysEnv: "mypurecloud.com",
          credentialsSecretName: "tokenstream/genesys/default",
        },
        {
          name: "eu",
          loginUrl: "https://login.mypurecloud.ie",
          credentialsSecretArn: PROFILE_ARN_SECRET,
          allowedPrincipals: [REPORTING, INVOKER_ROLE],
        },
      ],
    }),
    { nag: false },
  );
  const template = Template.fromStack(stack).toJSON();
  resources = template.Resources;
  outputs = template.Outputs;
}, 120_000);

function ofType(type: string): Array<[string, Json]> {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties]);
}

function only(type: string, prefix: string): [string, Json] {
  const found = ofType(type).filter(([id]) => id.startsWith(prefix));
  expect(found, `${type} ${prefix}*`).toHaveLength(1);
  return found[0]!;
}

const getAtt = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]).slice().sort();
const statements = (doc: unknown) => (doc as { Statement: Statement[] }).Statement;
const bySid = (doc: unknown, sid: string) => {
  const found = statements(doc).filter((s) => s.Sid === sid);
  expect(found, sid).toHaveLength(1);
  return found[0]!;
};

describe("alarm delivery", () => {
  const alarmArns = {
    "Fn::Join": [
      "",
      [
        "arn:",
        { Ref: "AWS::Partition" },
        ":cloudwatch:",
        { Ref: "AWS::Region" },
        ":",
        { Ref: "AWS::AccountId" },
        ":alarm:Tokenstream-*",
      ],
    ],
  };
  const cloudWatchConditions = {
    StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
    ArnLike: { "aws:SourceArn": alarmArns },
  };

  it("names every alarm <stack>-<id>, so the policies below cover exactly this stack's alarms", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm");
    // 20 of the broker, relay and stack, 5 of the durable backlog and coverage ledger (lib/relay-durability.ts):
    // an alarm without the stack's name prefix could not publish to the alarm topic.
    expect(alarms.length).toBe(25);
    for (const [, a] of alarms) expect(a.AlarmName).toMatch(/^Tokenstream-[A-Za-z]+$/);
  });

  it("lets CloudWatch publish to the topic, only for this account's alarms of this stack, and TLS only", () => {
    const [, policy] = only("AWS::SNS::TopicPolicy", "AlarmTopicPolicy");
    const topic = { Ref: only("AWS::SNS::Topic", "AlarmTopic")[0] };
    const allow = bySid(policy.PolicyDocument, "CloudWatchAlarmsOfThisStackPublish");
    expect(allow).toEqual({
      Sid: "CloudWatchAlarmsOfThisStackPublish",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topic,
      Condition: cloudWatchConditions,
    });
    expect(statements(policy.PolicyDocument).filter((s) => s.Effect === "Allow")).toHaveLength(1);
    expect(bySid(policy.PolicyDocument, "AllowPublishThroughSSLOnly").Effect).toBe("Deny");
  });

  it("lets CloudWatch use the topic's key under the same conditions", () => {
    const [, key] = only("AWS::KMS::Key", "AlarmTopicKey");
    const grant = bySid(key.KeyPolicy, "CloudWatchAlarmsOfThisStack");
    expect(grant.Principal).toEqual({ Service: "cloudwatch.amazonaws.com" });
    expect(actions(grant)).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
    expect(grant.Condition).toEqual(cloudWatchConditions);
  });

  it("alarms on the worker's send backlog (size and age) and on broker throttles and refresh errors", () => {
    const alarm = (name: string) =>
      ofType("AWS::CloudWatch::Alarm").find(([, a]) => a.AlarmName === `Tokenstream-${name}`)![1];
    expect(alarm("BacklogDepth")).toMatchObject({
      MetricName: "BufferDepth",
      Statistic: "Maximum",
      Threshold: 10_000,
    });
    expect(alarm("BacklogAge")).toMatchObject({ MetricName: "SinkLatencyMsMax", Threshold: 300_000 });
    const throttles = JSON.stringify(alarm("BrokerThrottles").Metrics);
    expect(throttles.match(/"MetricName":"Throttles"/g)).toHaveLength(2);
    expect(alarm("RefreshErrors")).toMatchObject({ MetricName: "Errors", Threshold: 1 });
    for (const name of ["BacklogDepth", "BacklogAge", "BrokerThrottles", "RefreshErrors"]) {
      expect(alarm(name).AlarmActions).toEqual([{ Ref: only("AWS::SNS::Topic", "AlarmTopic")[0] }]);
    }
  });

  it("outputs the CLI line that fires a test notification through a real alarm", () => {
    const command = JSON.stringify(outputs.AlarmTestCommand!.Value);
    expect(command).toContain("aws cloudwatch set-alarm-state");
    expect(command).toContain(`{"Ref":"${only("AWS::CloudWatch::Alarm", "AlarmsGapRecorded")[0]}"}`);
    expect(command).toContain("--state-value ALARM");
  });
});

describe("audit immutability", () => {
  let policy: Json;
  beforeAll(() => {
    policy = only("AWS::DynamoDB::Table", "BrokerAuditTable")[1].ResourcePolicy as Json;
  });

  it("denies updates, deletes, batch writes, PartiQL rewrites and DeleteTable to everyone but the break-glass role", () => {
    expect(bySid(policy.PolicyDocument, "AuditItemsAreNeverRewritten")).toEqual({
      Sid: "AuditItemsAreNeverRewritten",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: [
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:DeleteTable",
        "dynamodb:PartiQLDelete",
        "dynamodb:PartiQLUpdate",
        "dynamodb:UpdateItem",
      ],
      Resource: "*",
      Condition: { ArnNotEquals: { "aws:PrincipalArn": BREAK_GLASS } },
    });
  });

  it("denies item writes to everyone but the broker role (and break-glass)", () => {
    const role = getAtt(only("AWS::IAM::Role", "BrokerRole")[0]);
    const deny = bySid(policy.PolicyDocument, "OnlyTheBrokerAppends");
    expect(deny).toMatchObject({ Effect: "Deny", Principal: { AWS: "*" }, Resource: "*" });
    expect(actions(deny)).toEqual(["dynamodb:PartiQLInsert", "dynamodb:PutItem"]);
    expect(deny.Condition).toEqual({ ArnNotEquals: { "aws:PrincipalArn": [role, BREAK_GLASS] } });
  });

  it("lets only a CloudFormation deployment (or break-glass) change TTL", () => {
    const deny = bySid(policy.PolicyDocument, "TtlChangesOnlyThroughADeployment");
    expect(deny).toMatchObject({
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "dynamodb:UpdateTimeToLive",
    });
    expect(deny.Condition).toEqual({
      ArnNotEquals: {
        "aws:PrincipalArn": [
          {
            "Fn::Sub": CFN_EXEC_ROLE,
          },
          BREAK_GLASS,
        ],
      },
    });
    expect(statements(policy.PolicyDocument).every((s) => s.Effect === "Deny")).toBe(true);
  });

  it("without a break-glass role, denies rewrites unconditionally", () => {
    const app = testApp();
    const stack = addTokenstream(app, testConfig(), { nag: false });
    const table = Object.values(Template.fromStack(stack).toJSON().Resources as Resources).find(
      (r) => r.Type === "AWS::DynamoDB::Table" && JSON.stringify(r.Properties.KeySchema).includes('"sk"'),
    )!;
    const deny = bySid(
      (table.Properties.ResourcePolicy as Json).PolicyDocument,
      "AuditItemsAreNeverRewritten",
    );
    expect(deny.Condition).toBeUndefined();
  }, 60_000);
});

describe("audit archive (auditArchive: true)", () => {
  let archive: Resources;
  let findings: string[];
  beforeAll(() => {
    const config = testConfig({ auditArchive: true, auditRetentionDays: 730 });
    archive = Template.fromStack(addTokenstream(testApp(), config, { nag: false })).toJSON().Resources;
    const app = testApp();
    addTokenstream(app, config);
    try {
      app.synth();
    } catch {
      // findings are read from the report below
    }
    const report = JSON.parse(readFileSync(join(app.outdir, "validation-report.json"), "utf8")) as {
      pluginReports: Array<{
        violations?: Array<{ ruleName: string; violatingConstructs?: Array<{ constructPath?: string }> }>;
      }>;
    };
    findings = report.pluginReports.flatMap((r) =>
      (r.violations ?? []).flatMap((v) =>
        (v.violatingConstructs ?? [{}]).map((c) => `${v.ruleName} ${c.constructPath}`),
      ),
    );
  }, 120_000);
  const inArchive = (type: string, prefix: string) => {
    const found = Object.entries(archive).filter(([id, r]) => r.Type === type && id.startsWith(prefix));
    expect(found, `${type} ${prefix}*`).toHaveLength(1);
    return found[0]!;
  };

  it("streams the audit table to an Object Lock bucket in compliance mode for the audit retention", () => {
    const [, table] = inArchive("AWS::DynamoDB::Table", "BrokerAuditTable");
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: "NEW_AND_OLD_IMAGES" });
    const [bucketId, bucket] = inArchive("AWS::S3::Bucket", "BrokerAuditArchiveBucket");
    expect(bucket.Properties.ObjectLockEnabled).toBe(true);
    expect(bucket.Properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: "Enabled",
      Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 730 } },
    });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
    expect(bucket.DeletionPolicy).toBe("Retain");
    const [, mapping] = inArchive("AWS::Lambda::EventSourceMapping", "BrokerAuditArchiveStreamMapping");
    expect(mapping.Properties).toMatchObject({
      StartingPosition: "TRIM_HORIZON",
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    expect(JSON.stringify(mapping.Properties.EventSourceArn)).toContain("StreamArn");
    const role = Object.entries(archive).find(
      ([id, r]) =>
        r.Type === "AWS::IAM::Policy" && id.startsWith("BrokerAuditArchiveFunctionServiceRoleDefaultPolicy"),
    )![1];
    const puts = statements(role.Properties.PolicyDocument).filter((st) =>
      actions(st).includes("s3:PutObject"),
    );
    expect(puts.map((st) => st.Resource)).toEqual([{ "Fn::Join": ["", [getAtt(bucketId), "/audit/*"]] }]);
    const alarm = Object.values(archive).find(
      (r) =>
        r.Type === "AWS::CloudWatch::Alarm" && r.Properties.AlarmName === "Tokenstream-AuditArchiveFailures",
    );
    expect(alarm).toBeDefined();
    // Every KMS statement of the archive function is conditioned too.
    const kms = statements(role.Properties.PolicyDocument).filter((st) =>
      actions(st).some((a) => a.startsWith("kms:")),
    );
    expect(kms).toHaveLength(1);
    expect(kms[0]!.Condition).toHaveProperty(["StringEquals", "kms:ViaService"]);
  });

  it("stays cdk-nag clean", () => {
    expect(findings).toEqual([]);
  });
});

describe("token key isolation", () => {
  it("lets the account administer the token key but only the broker role use it, only via Secrets Manager", () => {
    const [keyId, key] = only("AWS::KMS::Key", "BrokerTokenCacheKey");
    const role = getAtt(only("AWS::IAM::Role", "BrokerRole")[0]);
    const doc = statements(key.KeyPolicy);
    expect(doc.map((s) => s.Sid).sort()).toEqual([
      "BrokerUseViaSecretsManagerOnly",
      "KeyAdministrationWithoutUse",
    ]);
    const admin = bySid(key.KeyPolicy, "KeyAdministrationWithoutUse");
    expect(actions(admin)).toEqual([...TOKEN_KEY_ADMIN_ACTIONS].sort());
    for (const use of [
      "kms:Decrypt",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:ReEncryptFrom",
      "kms:CreateGrant",
      "kms:*",
    ]) {
      expect(actions(admin)).not.toContain(use);
    }
    expect(bySid(key.KeyPolicy, "BrokerUseViaSecretsManagerOnly")).toEqual({
      Sid: "BrokerUseViaSecretsManagerOnly",
      Effect: "Allow",
      Principal: { AWS: role },
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: "*",
      Condition: {
        StringEquals: {
          "kms:ViaService": {
            "Fn::Join": ["", ["secretsmanager.", { Ref: "AWS::Region" }, ".", { Ref: "AWS::URLSuffix" }]],
          },
          "kms:CallerAccount": { Ref: "AWS::AccountId" },
        },
      },
    });
    // Nothing but the token secrets is encrypted with it.
    const users = Object.entries(resources).filter(
      ([id, r]) =>
        id !== keyId && r.Type !== "AWS::IAM::Policy" && JSON.stringify(r.Properties).includes(`"${keyId}"`),
    );
    // One secret per profile and token lane (2 profiles x 2 lanes).
    expect(users.map(([, r]) => r.Type)).toEqual(Array(4).fill("AWS::SecretsManager::Secret"));
    // The audit key (tables, DLQ) is a different key.
    const auditKey = only("AWS::KMS::Key", "BrokerKey")[0];
    expect(JSON.stringify(only("AWS::DynamoDB::Table", "BrokerAuditTable")[1].SSESpecification)).toContain(
      auditKey,
    );
  });

  it("denies every token secret's value to everyone but the broker role", () => {
    const role = getAtt(only("AWS::IAM::Role", "BrokerRole")[0]);
    const policies = ofType("AWS::SecretsManager::ResourcePolicy");
    const secrets = ofType("AWS::SecretsManager::Secret").map(([id]) => id);
    expect(policies.map(([, p]) => (p.SecretId as { Ref: string }).Ref).sort()).toEqual(secrets.sort());
    for (const [, p] of policies) {
      expect(p.BlockPublicPolicy).toBe(true);
      expect(statements(p.ResourcePolicy)).toEqual([
        {
          Sid: "OnlyTheBrokerReadsOrWritesTheToken",
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: [...TOKEN_SECRET_DENIED_ACTIONS].sort(),
          Resource: "*",
          Condition: { ArnNotEquals: { "aws:PrincipalArn": role } },
        },
      ]);
    }
  });

  it("tells auditors the audit key is not the token key", () => {
    expect(outputs.AuditKeyArn!.Value).toEqual(getAtt(only("AWS::KMS::Key", "BrokerKey")[0]));
  });
});

describe("per-profile authorization", () => {
  it("gives each profile its configured principals, and the worker task role its own profile only", () => {
    const fn = only("AWS::Lambda::Function", "BrokerFunction")[1];
    const profiles = renderJoin((fn.Environment as { Variables: Json }).Variables.PROFILES) as Array<{
      name: string;
      allowedPrincipals: string[];
    }>;
    const workerRole = `GetAtt:${only("AWS::IAM::Role", "RelayTaskDefinitionTaskRole")[0]}`;
    expect(profiles.map((p) => [p.name, p.allowedPrincipals])).toEqual([
      ["default", [workerRole]],
      ["eu", [REPORTING, INVOKER_ROLE]],
    ]);
  });
});

describe("forged identity", () => {
  it("splits the Function URL and the scheduled refresh into two functions; only the URL one has a URL", () => {
    const url = only("AWS::Lambda::Url", "BrokerFunctionFunctionUrl")[1];
    expect(url.TargetFunctionArn).toEqual(getAtt(only("AWS::Lambda::Function", "BrokerFunction")[0]));
    expect(url.AuthType).toBe("AWS_IAM");
    const [, schedule] = only("AWS::Scheduler::Schedule", "BrokerRefreshSchedule");
    expect((schedule.Target as Json).Arn).toEqual(
      getAtt(only("AWS::Lambda::Function", "BrokerRefreshFunction")[0]),
    );
  });

  it("documents exactly the guard the stack outputs (docs/security.md)", () => {
    const doc = readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8");
    const block =
      /<!-- BEGIN invoke guard[^\n]*-->\n```json\n([\s\S]*?)\n```\n<!-- END invoke guard -->/.exec(doc);
    expect(block, "docs/security.md has the invoke guard block").not.toBeNull();
    const documented = JSON.parse(block![1]!);
    const placeholders = {
      urlFunctionArn: "<BrokerFunctionArn>",
      refreshFunctionArn: "<BrokerRefreshFunctionArn>",
      scheduleRoleArn: "<ScheduleRoleArn>",
    };
    expect(documented).toEqual(brokerInvokeGuard(placeholders));
    // And the output is that document with this stack's ARNs.
    const rendered = JSON.stringify(outputs.BrokerInvokeGuardPolicy!.Value);
    for (const id of [
      only("AWS::Lambda::Function", "BrokerFunction")[0],
      only("AWS::Lambda::Function", "BrokerRefreshFunction")[0],
      only("AWS::IAM::Role", "BrokerScheduleRole")[0],
    ]) {
      expect(rendered).toContain(`{"Fn::GetAtt":["${id}","Arn"]}`);
    }
  });

  it("the guard denies direct invokes of the URL function and everyone but the schedule on the refresh function", () => {
    const guard = brokerInvokeGuard({ urlFunctionArn: "u", refreshFunctionArn: "r", scheduleRoleArn: "s" });
    const [url, refresh] = guard.Statement;
    expect(url).toMatchObject({
      Effect: "Deny",
      Action: ["lambda:InvokeFunction", "lambda:InvokeAsync"],
      Resource: ["u", "u:*"],
      Condition: { BoolIfExists: { "lambda:InvokedViaFunctionUrl": "false" } },
    });
    expect(refresh).toMatchObject({
      Effect: "Deny",
      Resource: ["r", "r:*"],
      Condition: { ArnNotLike: { "aws:PrincipalArn": "s" } },
    });
  });
});

describe("Security Hub controls", () => {
  it("EC2.2: the created VPC's default security group is emptied", () => {
    const [, restrict] = only("Custom::VpcRestrictDefaultSG", "RelayVpcRestrictDefaultSecurityGroup");
    expect(restrict.DefaultSecurityGroupId).toEqual({
      "Fn::GetAtt": [only("AWS::EC2::VPC", "RelayVpc")[0], "DefaultSecurityGroup"],
    });
  });

  it("EC2.15: no subnet maps public IPs on launch", () => {
    const subnets = ofType("AWS::EC2::Subnet");
    expect(subnets).toHaveLength(4);
    for (const [, s] of subnets) expect(s.MapPublicIpOnLaunch).toBe(false);
  });

  it("ECS.20: the container runs as the non-root user", () => {
    const [, task] = only("AWS::ECS::TaskDefinition", "RelayTaskDefinition");
    const [container] = task.ContainerDefinitions as Json[];
    expect(container!.User).toBe(CONTAINER_USER);
    expect(CONTAINER_USER).not.toMatch(/^(0|root)(:|$)/);
  });

  it("allows the worker only HTTPS out, with S3 through a gateway endpoint", () => {
    const [sgId, sg] = only("AWS::EC2::SecurityGroup", "RelaySecurityGroup");
    expect(sg.SecurityGroupEgress).toEqual([
      {
        CidrIp: "0.0.0.0/0",
        Description: "HTTPS: Genesys Cloud, broker URL, AWS APIs",
        FromPort: 443,
        IpProtocol: "tcp",
        ToPort: 443,
      },
    ]);
    expect(sg.SecurityGroupIngress).toBeUndefined();
    expect(
      ofType("AWS::EC2::SecurityGroupEgress").filter(([, e]) => JSON.stringify(e).includes(sgId)),
    ).toEqual([]);
    const [, endpoint] = only("AWS::EC2::VPCEndpoint", "RelayVpcS3");
    expect(endpoint.VpcEndpointType).toBe("Gateway");
    expect(JSON.stringify(endpoint.ServiceName)).toContain(".s3");
  });

  it("conditions every KMS statement on the service that uses the key", () => {
    for (const [, p] of ofType("AWS::IAM::Policy")) {
      for (const s of statements(p.PolicyDocument)) {
        if (!actions(s).some((a) => a.startsWith("kms:"))) continue;
        expect(s.Condition, `${JSON.stringify(s)}`).toHaveProperty(["StringEquals", "kms:ViaService"]);
      }
    }
  });

  it("limits the worker's s3:PutObject to the offload prefix and the backlog prefix", () => {
    const role = only("AWS::IAM::Role", "RelayTaskDefinitionTaskRole")[0];
    const puts = ofType("AWS::IAM::Policy")
      .filter(([, p]) => JSON.stringify(p.Roles).includes(role))
      .flatMap(([, p]) => statements(p.PolicyDocument))
      .filter((s) => actions(s).includes("s3:PutObject"));
    const bucket = (prefix: string) => puts.filter((s) => JSON.stringify(s.Resource).includes(`"${prefix}`));
    expect(puts).toHaveLength(2);
    expect(bucket("RelayOffloadBucket")).toHaveLength(1);
    expect(JSON.stringify(bucket("RelayOffloadBucket")[0]!.Resource)).toContain(
      `/${OFFLOAD_OBJECT_PREFIX}/*"`,
    );
    // The durable backlog (lib/relay-durability.ts) writes only under its own prefix of its own bucket.
    expect(bucket("DurabilityBacklogBucket")).toHaveLength(1);
    expect(JSON.stringify(bucket("DurabilityBacklogBucket")[0]!.Resource)).toContain('/backlog/*"');
  });

  it("retains every log group, with the configured retention", () => {
    const groups = Object.values(resources).filter((r) => r.Type === "AWS::Logs::LogGroup");
    expect(groups.length).toBe(4);
    for (const g of groups) {
      expect(g.DeletionPolicy).toBe("Retain");
      expect(g.Properties.RetentionInDays).toBe(90);
    }
  });

  it("cdk.json sets every feature flag aws-cdk-lib recommends, at its recommended value", () => {
    const context = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")).context;
    const recommended = cxapi.CURRENTLY_RECOMMENDED_FLAGS as Record<string, unknown>;
    expect(Object.keys(recommended).length).toBeGreaterThanOrEqual(89);
    for (const [flag, value] of Object.entries(recommended)) expect(context[flag], flag).toEqual(value);
    expect(context["@aws-cdk/aws-ec2:restrictDefaultSecurityGroup"]).toBe(true);
  });
});
