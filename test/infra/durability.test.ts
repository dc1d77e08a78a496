import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { TokenstreamStack } from "../../lib/tokenstream-stack.ts";
import { testApp, testConfig } from "./helpers.ts";

type Json = Record<string, unknown>;

let template: Template;
let stack: TokenstreamStack;

beforeAll(() => {
  const app = testApp();
  stack = new TokenstreamStack(app, "Durable", {
    config: testConfig(),
    env: { account: "111122223333", region: "eu-west-1" },
  });
  template = Template.fromStack(stack);
}, 120_000);

const ref = (c: { node: { defaultChild?: unknown } }) =>
  stack.resolve((c.node.defaultChild as { logicalId: string }).logicalId) as string;

describe("durable backlog and coverage ledger (lib/relay-durability.ts)", () => {
  it("the backlog bucket is encrypted with the relay's key, TLS-only, private, logged, expiring, retained", () => {
    const bucketId = ref(stack.durability.backlogBucket);
    const bucket = template.toJSON().Resources[bucketId] as { Properties: Json; DeletionPolicy: string };
    expect(bucket.DeletionPolicy).toBe("Retain");
    const enc = (bucket.Properties.BucketEncryption as { ServerSideEncryptionConfiguration: Json[] })
      .ServerSideEncryptionConfiguration[0]!;
    expect(enc).toMatchObject({
      BucketKeyEnabled: true,
      ServerSideEncryptionByDefault: {
        SSEAlgorithm: "aws:kms",
        KMSMasterKeyID: { "Fn::GetAtt": [ref(stack.relay.key), "Arn"] },
      },
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.LoggingConfiguration).toMatchObject({ LogFilePrefix: "backlog/" });
    expect(bucket.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          ExpirationInDays: 14,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          Status: "Enabled",
        },
      ],
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("the coverage table: pk/sk, on demand, the relay's key, PITR, TTL, deletion protection, retained", () => {
    const tableId = ref(stack.durability.coverageTable);
    const table = template.toJSON().Resources[tableId] as { Properties: Json; DeletionPolicy: string };
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      SSESpecification: {
        SSEEnabled: true,
        SSEType: "KMS",
        KMSMasterKeyId: { "Fn::GetAtt": [ref(stack.relay.key), "Arn"] },
      },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: "expiresAtEpoch", Enabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it("grants the task role only what the worker does, and nobody else anything on them", () => {
    const taskRole = stack.resolve(
      (stack.relay.taskDefinition.taskRole.node.defaultChild as unknown as { logicalId: string }).logicalId,
    ) as string;
    const statements = Object.values(template.findResources("AWS::IAM::Policy")).flatMap((p) => {
      const props = (p as { Properties: { Roles: Json[]; PolicyDocument: { Statement: Json[] } } })
        .Properties;
      return props.PolicyDocument.Statement.map((s) => ({ roles: props.Roles, s }));
    });
    const touching = (id: string) => statements.filter(({ s }) => JSON.stringify(s.Resource).includes(id));
    const bucketId = ref(stack.durability.backlogBucket);
    const tableId = ref(stack.durability.coverageTable);
    for (const { roles } of [...touching(bucketId), ...touching(tableId)]) {
      expect(roles).toEqual([{ Ref: taskRole }]);
    }
    const bySid = (sid: string) =>
      touching(sid === "CoverageLedger" ? tableId : bucketId).find(({ s }) => s.Sid === sid)?.s;
    expect([...((bySid("DurableBacklogObjects")?.Action ?? []) as string[])].sort()).toEqual([
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
    ]);
    expect(JSON.stringify(bySid("DurableBacklogObjects")?.Resource)).toContain("/backlog/*");
    expect(bySid("DurableBacklogList")).toMatchObject({
      Action: "s3:ListBucket",
      Condition: { StringLike: { "s3:prefix": ["backlog/*"] } },
    });
    expect([...((bySid("CoverageLedger")?.Action ?? []) as string[])].sort()).toEqual([
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    expect(JSON.stringify(statements.map(({ s }) => s.Action))).not.toMatch(
      /dynamodb:\*|s3:\*|DeleteTable|Scan/,
    );
  });

  it("configures the worker for both and for the container health check's start-up grace", () => {
    const [task] = Object.values(template.findResources("AWS::ECS::TaskDefinition")) as {
      Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] };
    }[];
    const env = Object.fromEntries(
      task!.Properties.ContainerDefinitions[0]!.Environment.map((e) => [e.Name, e.Value]),
    );
    expect(env.BACKLOG_BUCKET).toEqual({ Ref: ref(stack.durability.backlogBucket) });
    expect(env.COVERAGE_TABLE).toEqual({ Ref: ref(stack.durability.coverageTable) });
    expect(env.COVERAGE_SCOPE).toBe("Durable");
    expect(env.BACKLOG_MAX_BYTES).toBe(String(4 * 1024 ** 3));
    expect(env.STARTUP_GRACE_MS).toBe("240000");
  });

  it("alarms on backlog age and size, overflow, recorded gaps and not covering; the last gates deployments", () => {
    const alarms = template.findResources("AWS::CloudWatch::Alarm");
    const byMetric = (name: string) =>
      Object.entries(alarms).find(([, a]) => (a as { Properties: Json }).Properties.MetricName === name);
    for (const name of ["BacklogAgeMs", "BacklogBytes", "BacklogOverflow", "CoverageGaps", "Covering"]) {
      const found = byMetric(name);
      expect(found, name).toBeDefined();
      expect((found![1] as { Properties: Json }).Properties.AlarmActions).toBeDefined();
    }
    expect((byMetric("BacklogAgeMs")![1] as { Properties: Json }).Properties).toMatchObject({
      Statistic: "Maximum",
      Threshold: 900_000,
      ComparisonOperator: "GreaterThanThreshold",
    });
    const [notCoveringId] = byMetric("Covering")!;
    template.hasResourceProperties("AWS::ECS::Service", {
      DeploymentConfiguration: {
        Alarms: { AlarmNames: [{ Ref: notCoveringId }], Enable: true, Rollback: true },
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      },
    });
  });
});
