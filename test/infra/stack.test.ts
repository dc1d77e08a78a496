import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { HEALTH_CHECK_COMMAND } from "../../lib/event-relay.ts";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { SQS_MAX_MESSAGE_BYTES } from "../../worker/sink/sqs-sink.ts";
import {
  INVOKER_ROLE,
  PROFILE_ARN_SECRET,
  PROFILE_KMS_KEY,
  renderJoin,
  testApp,
  testConfig,
} from "./helpers.ts";

type Json = Record<string, unknown>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
  Principal?: unknown;
}

let template: Template;
let resources: Record<
  string,
  { Type: string; Properties: Json; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;

beforeAll(() => {
  const app = testApp();
  const stack = addTokenstream(app, testConfig(), { nag: false });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, 120_000);

function ofType(type: string): Array<[string, Json]> {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties]);
}

function logicalId(type: string, prefix: string): string {
  const ids = Object.keys(resources).filter((id) => resources[id]!.Type === type && id.startsWith(prefix));
  expect(ids, `${type} ${prefix}*`).toHaveLength(1);
  return ids[0]!;
}

function actions(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

/** Every statement of every IAM policy attached to the role with this logical-id prefix. */
function roleStatements(rolePrefix: string): Statement[] {
  const roleId = logicalId("AWS::IAM::Role", rolePrefix);
  return ofType("AWS::IAM::Policy")
    .filter(([, p]) => JSON.stringify(p.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => (p.PolicyDocument as { Statement: Statement[] }).Statement);
}

function mentions(value: unknown, id: string): boolean {
  return JSON.stringify(value).includes(`"${id}"`);
}

describe("token broker", () => {
  it("runs Node 24 on arm64 with explicit timeout and memory, its own log group and role", () => {
    const fnId = logicalId("AWS::Lambda::Function", "BrokerFunction");
    const fn = resources[fnId]!.Properties;
    expect(fn.Runtime).toBe("nodejs24.x");
    expect(fn.Architectures).toEqual(["arm64"]);
    expect(fn.Timeout).toBe(30);
    expect(fn.MemorySize).toBe(512);
    expect(fn.Handler).toBe("index.handler");
    expect(mentions(fn.LoggingConfig, logicalId("AWS::Logs::LogGroup", "BrokerLogGroup"))).toBe(true);
    expect(resources[logicalId("AWS::Logs::LogGroup", "BrokerLogGroup")]!.Properties.RetentionInDays).toBe(
      90,
    );
    const role = resources[logicalId("AWS::IAM::Role", "BrokerRole")]!.Properties;
    expect(role.ManagedPolicyArns).toBeUndefined();
  });

  it("gets only non-secret settings in its environment", () => {
    const fn = resources[logicalId("AWS::Lambda::Function", "BrokerFunction")]!.Properties;
    const env = (fn.Environment as { Variables: Json }).Variables;
    expect(Object.keys(env).sort()).toEqual(
      [
        "AUDIT_RETENTION_DAYS",
        "AUDIT_TABLE",
        "LEASE_TABLE",
        "MIN_VALIDITY_FRACTION",
        "NODE_OPTIONS",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_SERVICE_NAME",
        "PROFILES",
        "REFRESH_AT_FRACTION",
        "TOKEN_SECRET_NAME_PREFIX",
      ].sort(),
    );
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe("tokenstream");
    expect(env.POWERTOOLS_SERVICE_NAME).toBe("tokenstream-broker");
    expect(env.REFRESH_AT_FRACTION).toBe("0.75");
    expect(env.MIN_VALIDITY_FRACTION).toBe("0.25");
    expect(env.AUDIT_RETENTION_DAYS).toBe("400");
    const profiles = JSON.stringify(env.PROFILES);
    expect(profiles).toContain("https://login.mypurecloud.com");
    expect(profiles).toContain("https://login.mypurecloud.ie");
    expect(profiles).toContain(PROFILE_ARN_SECRET);
    expect(profiles).toContain("tokenstream/genesys/default");
    expect(profiles).not.toMatch(/clientSecret|accessToken/i);
  });

  it("exposes a Function URL with AWS_IAM auth and no CORS", () => {
    template.resourceCountIs("AWS::Lambda::Url", 1);
    const [[, url]] = ofType("AWS::Lambda::Url") as [[string, Json]];
    expect(url.AuthType).toBe("AWS_IAM");
    expect(url.Cors).toBeUndefined();
  });

  it("grants URL invocation to the named principal only, never to everyone", () => {
    const permissions = ofType("AWS::Lambda::Permission").map(([, p]) => p);
    expect(permissions.some((p) => p.Principal === "*")).toBe(false);
    // Resource-based grants exist only for the configured invokers (the worker is granted through IAM).
    expect([...new Set(permissions.map((p) => p.Principal))]).toEqual([INVOKER_ROLE]);
    const urlGrant = permissions.filter((p) => p.Principal === INVOKER_ROLE);
    expect(urlGrant).toContainEqual(
      expect.objectContaining({ Action: "lambda:InvokeFunctionUrl", FunctionUrlAuthType: "AWS_IAM" }),
    );
    expect(urlGrant).toContainEqual(
      expect.objectContaining({ Action: "lambda:InvokeFunction", InvokedViaFunctionUrl: true }),
    );
  });

  it("is refreshed every 5 minutes with capped retries, a short max age and a DLQ", () => {
    template.resourceCountIs("AWS::Scheduler::Schedule", 1);
    const [[, schedule]] = ofType("AWS::Scheduler::Schedule") as [[string, Json]];
    expect(schedule.ScheduleExpression).toBe("rate(5 minutes)");
    expect(schedule.State).toBe("ENABLED");
    const target = schedule.Target as Json;
    expect(JSON.parse(target.Input as string)).toEqual({ kind: "scheduled-refresh" });
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 240 });
    expect(
      mentions(target.DeadLetterConfig, logicalId("AWS::SQS::Queue", "BrokerScheduleDeadLetterQueue")),
    ).toBe(true);
    const invokeConfig = ofType("AWS::Lambda::EventInvokeConfig")[0]![1];
    expect(invokeConfig.MaximumRetryAttempts).toBe(1);
    expect(invokeConfig.MaximumEventAgeInSeconds).toBe(240);
  });

  it("keeps tokens in secrets it owns, created empty under the token-cache key, no plaintext in the template", () => {
    const keyId = logicalId("AWS::KMS::Key", "BrokerTokenCacheKey");
    const secrets = ofType("AWS::SecretsManager::Secret").map(([, s]) => s);
    // One per profile and token lane: 2 profiles x 2 lanes (redundancy 2).
    expect(secrets).toHaveLength(2 * 2);
    for (const s of secrets) {
      expect(s.SecretString).toBeUndefined();
      // Empty until the broker's first mint: no deployer ever encrypts with the token key.
      expect(s.GenerateSecretString).toBeUndefined();
      expect(mentions(s.KmsKeyId, keyId)).toBe(true);
    }
  });

  it("names lane n's secret <prefix>/<profile>/lane-<n> from the one prefix in the broker's environment; lane 0 keeps its secret", () => {
    /** A Fn::Join as text, with its intrinsic parts written as JSON. */
    const joinText = (value: unknown) =>
      (value as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1]
        .map((part) => (typeof part === "string" ? part : JSON.stringify(part)))
        .join("");
    const fn = resources[logicalId("AWS::Lambda::Function", "BrokerFunction")]!.Properties;
    const env = (fn.Environment as { Variables: Json }).Variables;
    const prefix = joinText(env.TOKEN_SECRET_NAME_PREFIX);
    // tokenstream/<stack name>-<first 8 characters of the stack id>: unique per stack instance.
    expect(prefix).toMatch(/^tokenstream\/[A-Za-z0-9-]+-\{"Fn::Select":\[0,.*AWS::StackId/);
    const secrets = ofType("AWS::SecretsManager::Secret");
    const laneOne = secrets.filter(([id]) => id.includes("lane1"));
    expect(laneOne.map(([, s]) => joinText(s.Name))).toEqual([
      `${prefix}/default/lane-1`,
      `${prefix}/eu/lane-1`,
    ]);
    const laneZero = secrets.filter(([id]) => !id.includes("lane"));
    expect(laneZero.map(([id]) => id.replace(/[0-9A-F]{8}$/, ""))).toEqual([
      "BrokerTokenCacheSecretdefault",
      "BrokerTokenCacheSecreteu",
    ]);
    for (const [, s] of laneZero) expect(s.Name).toBeUndefined();
    const profiles = renderJoin(env.PROFILES) as Array<{ name: string; lanes: number }>;
    expect(profiles.map((p) => [p.name, p.lanes])).toEqual([
      ["default", 2],
      ["eu", 2],
    ]);
  });

  it("stores lease and audit items in retained, encrypted, PITR-protected on-demand tables", () => {
    const keyId = logicalId("AWS::KMS::Key", "BrokerKey");
    // The relay's coverage table is asserted in durability.test.ts.
    const tables = ofType("AWS::DynamoDB::Table").filter(([id]) => id.startsWith("Broker"));
    expect(tables).toHaveLength(2);
    for (const [id, t] of tables) {
      expect(t.BillingMode).toBe("PAY_PER_REQUEST");
      expect((t.SSESpecification as Json).SSEEnabled).toBe(true);
      expect((t.SSESpecification as Json).SSEType).toBe("KMS");
      expect(mentions((t.SSESpecification as Json).KMSMasterKeyId, keyId)).toBe(true);
      expect(t.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.DeletionProtectionEnabled).toBe(true);
      expect(resources[id]!.DeletionPolicy).toBe("Retain");
      expect(resources[id]!.UpdateReplacePolicy).toBe("Retain");
    }
    const lease = resources[logicalId("AWS::DynamoDB::Table", "BrokerLeaseTable")]!.Properties;
    expect(lease.KeySchema).toEqual([{ AttributeName: "profile", KeyType: "HASH" }]);
    expect(lease.TimeToLiveSpecification).toEqual({ AttributeName: "expiresAtEpoch", Enabled: true });
    const audit = resources[logicalId("AWS::DynamoDB::Table", "BrokerAuditTable")]!.Properties;
    expect(audit.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(audit.TimeToLiveSpecification).toEqual({ AttributeName: "expiresAtEpoch", Enabled: true });
  });

  it("has a role limited to PutItem on the audit table and exactly its own secrets", () => {
    const statements = roleStatements("BrokerRole");
    const auditId = logicalId("AWS::DynamoDB::Table", "BrokerAuditTable");
    const leaseId = logicalId("AWS::DynamoDB::Table", "BrokerLeaseTable");
    const onAudit = statements.filter((s) => mentions(s.Resource, auditId));
    expect(onAudit.flatMap(actions)).toEqual(["dynamodb:PutItem"]);
    const onLease = statements.filter((s) => mentions(s.Resource, leaseId)).flatMap(actions);
    expect(onLease.sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:PutItem"]);
    for (const s of statements) {
      expect(s.Effect).toBe("Allow");
      expect(s.Resource).not.toBe("*");
      for (const a of actions(s)) expect(a).not.toContain("*");
    }
    const secretActions = statements.filter((s) => actions(s).some((a) => a.startsWith("secretsmanager:")));
    // credentials: read-only, one statement per profile, on exactly that secret
    const credentials = secretActions.filter((s) => actions(s).join() === "secretsmanager:GetSecretValue");
    expect(credentials.map((s) => JSON.stringify(s.Resource))).toEqual([
      expect.stringContaining("secret:tokenstream/genesys/default-??????"),
      JSON.stringify(PROFILE_ARN_SECRET),
    ]);
    const cache = secretActions.filter((s) => actions(s).includes("secretsmanager:PutSecretValue"));
    expect(cache).toHaveLength(1);
    const secretIds = ofType("AWS::SecretsManager::Secret").map(([id]) => id);
    expect((cache[0]!.Resource as Json[]).map((r) => r.Ref).sort()).toEqual(secretIds.sort());
    // the credentials CMK only through Secrets Manager
    const decrypt = statements.find((s) => JSON.stringify(s.Resource) === JSON.stringify(PROFILE_KMS_KEY));
    expect(actions(decrypt!)).toEqual(["kms:Decrypt"]);
    expect(JSON.stringify(decrypt!.Condition)).toContain("kms:ViaService");
  });

  it("grants the broker exactly the calls its adapters make, and its key only through those services", () => {
    const statements = roleStatements("BrokerRole");
    const granted = [...new Set(statements.flatMap(actions))].sort();
    expect(granted).toEqual(
      [
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "sqs:SendMessage",
      ].sort(),
    );
    const keyId = logicalId("AWS::KMS::Key", "BrokerKey");
    const onKey = statements.filter((s) => mentions(s.Resource, keyId));
    expect(onKey).toHaveLength(1);
    const viaService = JSON.stringify(onKey[0]!.Condition);
    for (const service of ["dynamodb", "sqs"]) expect(viaService).toContain(`"${service}.`);
    expect(viaService).not.toContain('"secretsmanager.');
    expect(onKey[0]!.Condition).toHaveProperty(["StringEquals", "kms:ViaService"]);
    const tokenKeyId = logicalId("AWS::KMS::Key", "BrokerTokenCacheKey");
    const onTokenKey = statements.filter((s) => mentions(s.Resource, tokenKeyId));
    expect(onTokenKey).toHaveLength(1);
    expect(actions(onTokenKey[0]!).sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
    expect(JSON.stringify(onTokenKey[0]!.Condition)).toMatch(
      /"kms:ViaService":\{"Fn::Join":\["",\["secretsmanager\./,
    );
    const onDlq = statements.filter((s) => actions(s).includes("sqs:SendMessage"));
    expect(onDlq.map((s) => s.Resource)).toEqual([
      { "Fn::GetAtt": [logicalId("AWS::SQS::Queue", "BrokerScheduleDeadLetterQueue"), "Arn"] },
    ]);
  });

  it("never lets anything but the broker write the audit table", () => {
    const auditId = logicalId("AWS::DynamoDB::Table", "BrokerAuditTable");
    const brokerRole = logicalId("AWS::IAM::Role", "BrokerRole");
    for (const [, p] of ofType("AWS::IAM::Policy")) {
      const touchesAudit = (p.PolicyDocument as { Statement: Statement[] }).Statement.some((s) =>
        mentions(s.Resource, auditId),
      );
      if (touchesAudit) expect(p.Roles).toEqual([{ Ref: brokerRole }]);
    }
  });
});

describe("event relay", () => {
  it("writes to a KMS-encrypted FIFO queue with a FIFO dead-letter queue", () => {
    const keyId = logicalId("AWS::KMS::Key", "RelayKey");
    const queue = resources[logicalId("AWS::SQS::Queue", "RelayQueue")]!.Properties;
    const dlqId = logicalId("AWS::SQS::Queue", "RelayDeadLetterQueue");
    const dlq = resources[dlqId]!.Properties;
    expect(queue.FifoQueue).toBe(true);
    expect(dlq.FifoQueue).toBe(true);
    expect(mentions(queue.KmsMasterKeyId, keyId)).toBe(true);
    expect(mentions(dlq.KmsMasterKeyId, keyId)).toBe(true);
    expect((queue.RedrivePolicy as Json).maxReceiveCount).toBe(5);
    expect(mentions((queue.RedrivePolicy as Json).deadLetterTargetArn, dlqId)).toBe(true);
    expect(queue.MessageRetentionPeriod).toBe(4 * 86_400);
    expect(dlq.MessageRetentionPeriod).toBe(14 * 86_400);
    // 1 MiB set explicitly, the size up to which the worker sends an event inline.
    expect(queue.MaximumMessageSize).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(dlq.MaximumMessageSize).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(SQS_MAX_MESSAGE_BYTES).toBe(1_048_576);
  });

  it("gives the worker a standard, KMS-encrypted dead-letter queue for records it cannot queue, 14 days, 1 MiB", () => {
    const id = logicalId("AWS::SQS::Queue", "RelayWorkerDeadLetterQueue");
    const dlq = resources[id]!.Properties;
    expect(dlq.FifoQueue).toBeUndefined();
    expect(mentions(dlq.KmsMasterKeyId, logicalId("AWS::KMS::Key", "RelayKey"))).toBe(true);
    expect(dlq.MessageRetentionPeriod).toBe(14 * 86_400);
    expect(dlq.MaximumMessageSize).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(resources[id]!.DeletionPolicy).toBe("Retain");
    // Nothing redrives into it or out of it: it holds records for an operator.
    expect(dlq.RedrivePolicy).toBeUndefined();
    const [[, task]] = ofType("AWS::ECS::TaskDefinition") as [[string, Json]];
    const env = Object.fromEntries(
      ((task.ContainerDefinitions as Json[])[0]!.Environment as Array<{ Name: string; Value: unknown }>).map(
        (e) => [e.Name, e.Value],
      ),
    );
    expect(mentions(env.DEAD_LETTER_QUEUE_URL, id)).toBe(true);
    const alarm = ofType("AWS::CloudWatch::Alarm")
      .map(([, a]) => a)
      .find((a) => mentions(a.Dimensions, id));
    expect(alarm).toMatchObject({
      AlarmName: "Tokenstream-WorkerDeadLetterQueueNotEmpty",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    expect(template.toJSON().Outputs.WorkerDeadLetterQueueUrl).toBeDefined();
  });

  it("denies non-TLS access to every queue, bucket and topic", () => {
    const denyInsecure = Match.objectLike({
      Effect: "Deny",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
    const policies = [
      ...ofType("AWS::SQS::QueuePolicy").map(([, p]) => ({ targets: p.Queues, doc: p.PolicyDocument })),
      ...ofType("AWS::S3::BucketPolicy").map(([, p]) => ({ targets: p.Bucket, doc: p.PolicyDocument })),
      ...ofType("AWS::SNS::TopicPolicy").map(([, p]) => ({ targets: p.Topics, doc: p.PolicyDocument })),
    ];
    for (const type of ["AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::SNS::Topic"]) {
      for (const [id] of ofType(type)) {
        const policy = policies.find((p) => mentions(p.targets, id));
        expect(policy, `${id} has a resource policy`).toBeDefined();
        expect((policy!.doc as { Statement: unknown[] }).Statement).toEqual(
          expect.arrayContaining([expect.objectContaining({ Effect: "Deny" })]),
        );
        Template.fromJSON({ Resources: { P: { Type: "X", Properties: policy } } }).hasResourceProperties(
          "X",
          {
            doc: { Statement: Match.arrayWith([denyInsecure]) },
          },
        );
      }
    }
  });

  it("offloads large events to an encrypted, private, expiring, access-logged bucket", () => {
    const keyId = logicalId("AWS::KMS::Key", "RelayKey");
    const logBucketId = logicalId("AWS::S3::Bucket", "RelayAccessLogBucket");
    const bucket = resources[logicalId("AWS::S3::Bucket", "RelayOffloadBucket")]!.Properties;
    const sse = (bucket.BucketEncryption as { ServerSideEncryptionConfiguration: Json[] })
      .ServerSideEncryptionConfiguration[0]!;
    expect((sse.ServerSideEncryptionByDefault as Json).SSEAlgorithm).toBe("aws:kms");
    expect(mentions((sse.ServerSideEncryptionByDefault as Json).KMSMasterKeyID, keyId)).toBe(true);
    expect(mentions(bucket.LoggingConfiguration, logBucketId)).toBe(true);
    expect(JSON.stringify(bucket.LifecycleConfiguration)).toContain('"ExpirationInDays":14');
    for (const [, b] of ofType("AWS::S3::Bucket")) {
      expect(b.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.BucketEncryption).toBeDefined();
      expect(b.LifecycleConfiguration).toBeDefined();
    }
  });

  it("deploys make-before-break with a rolling-back circuit breaker in private subnets", () => {
    const [[, service]] = ofType("AWS::ECS::Service") as [[string, Json]];
    expect(service.LaunchType).toBe("FARGATE");
    expect(service.DesiredCount).toBe(1);
    expect(service.DeploymentConfiguration).toMatchObject({
      MinimumHealthyPercent: 100,
      MaximumPercent: 200,
      DeploymentCircuitBreaker: { Enable: true, Rollback: true },
    });
    const network = (service.NetworkConfiguration as { AwsvpcConfiguration: Json }).AwsvpcConfiguration;
    expect(network.AssignPublicIp).toBe("DISABLED");
    expect(JSON.stringify(network.Subnets)).toContain("workersSubnet");
    expect(service.EnableExecuteCommand).toBe(false);
    for (const [, sg] of ofType("AWS::EC2::SecurityGroup")) expect(sg.SecurityGroupIngress).toBeUndefined();
    template.resourceCountIs("AWS::EC2::SecurityGroupIngress", 0);
  });

  it("runs the worker on ARM64 with init, read-only root, 120 s stop timeout, health check and awslogs", () => {
    const [[, task]] = ofType("AWS::ECS::TaskDefinition") as [[string, Json]];
    expect(task.RuntimePlatform).toEqual({ CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX" });
    expect(task.RequiresCompatibilities).toEqual(["FARGATE"]);
    const containers = task.ContainerDefinitions as Json[];
    expect(containers).toHaveLength(1);
    const c = containers[0]!;
    expect(c.ReadonlyRootFilesystem).toBe(true);
    expect(c.StopTimeout).toBe(120);
    expect(c.LinuxParameters).toEqual({ InitProcessEnabled: true, Capabilities: { Drop: ["ALL"] } });
    expect((c.HealthCheck as Json).Command).toEqual(HEALTH_CHECK_COMMAND);
    expect((c.HealthCheck as Json).Command).toEqual([
      "CMD",
      "node",
      "-e",
      expect.stringContaining("http://127.0.0.1:8080/livez"),
    ]);
    expect((c.HealthCheck as Json).StartPeriod).toBe(300);
    const log = c.LogConfiguration as { LogDriver: string; Options: Json };
    expect(log.LogDriver).toBe("awslogs");
    expect(mentions(log.Options["awslogs-group"], logicalId("AWS::Logs::LogGroup", "RelayLogGroup"))).toBe(
      true,
    );
    expect(resources[logicalId("AWS::Logs::LogGroup", "RelayLogGroup")]!.Properties.RetentionInDays).toBe(90);
    expect(c.MountPoints).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ContainerPath: "/var/spool/tokenstream", ReadOnly: false }),
      ]),
    );
    expect(c.Secrets).toBeUndefined();
  });

  it("configures the worker through its documented environment", () => {
    const [[, task]] = ofType("AWS::ECS::TaskDefinition") as [[string, Json]];
    const env = Object.fromEntries(
      ((task.ContainerDefinitions as Json[])[0]!.Environment as Array<{ Name: string; Value: unknown }>).map(
        (e) => [e.Name, e.Value],
      ),
    );
    expect(env).toMatchObject({
      SOURCE_KIND: "genesys",
      GENESYS_ENV: "mypurecloud.com",
      TOPICS: "v2.routing.queues.q1.conversations,v2.users.u1.presence",
      REDUNDANCY: "2",
      TOKEN_SOURCE: "broker",
      TOKEN_PROFILE: "default",
      HEALTH_PORT: "8080",
      SPOOL_DIR: "/var/spool/tokenstream",
      SHUTDOWN_TIMEOUT_MS: "100000",
      POWERTOOLS_SERVICE_NAME: "tokenstream-worker",
      POWERTOOLS_METRICS_NAMESPACE: "tokenstream",
    });
    expect(JSON.stringify(env.BROKER_URL)).toContain("FunctionUrl");
    expect(mentions(env.QUEUE_URL, logicalId("AWS::SQS::Queue", "RelayQueue"))).toBe(true);
    expect(mentions(env.OFFLOAD_BUCKET, logicalId("AWS::S3::Bucket", "RelayOffloadBucket"))).toBe(true);
    expect(env.AWS_REGION).toEqual({ Ref: "AWS::Region" });
    expect(Number(env.SHUTDOWN_TIMEOUT_MS)).toBeLessThan(120_000);
  });

  it("has a task role that can only invoke the broker URL, send to the queue and put offloaded events", () => {
    // The durable backlog and coverage ledger grants are asserted in durability.test.ts.
    const durable = new Set([
      "DurableBacklogObjects",
      "DurableBacklogList",
      "CoverageLedgerKey",
      "CoverageLedger",
    ]);
    const statements = roleStatements("RelayTaskDefinitionTaskRole").filter(
      (s) => !durable.has(String((s as { Sid?: unknown }).Sid)),
    );
    const fnId = logicalId("AWS::Lambda::Function", "BrokerFunction");
    const granted = statements.flatMap((s) => actions(s).map((a) => ({ a, s })));
    expect(granted.map((g) => g.a).sort()).toEqual(
      [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "lambda:InvokeFunction",
        "lambda:InvokeFunctionUrl",
        "s3:PutObject",
        "sqs:SendMessage",
        "sqs:SendMessage",
      ].sort(),
    );
    const byAction = (a: string) => granted.find((g) => g.a === a)!.s;
    expect(byAction("lambda:InvokeFunctionUrl").Resource).toEqual({ "Fn::GetAtt": [fnId, "Arn"] });
    expect(byAction("lambda:InvokeFunctionUrl").Condition).toEqual({
      StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" },
    });
    expect(byAction("lambda:InvokeFunction").Resource).toEqual({ "Fn::GetAtt": [fnId, "Arn"] });
    expect(byAction("lambda:InvokeFunction").Condition).toEqual({
      Bool: { "lambda:InvokedViaFunctionUrl": true },
    });
    // SendMessage on exactly two queues, one statement each: the event queue and the worker's dead-letter queue.
    const sends = granted.filter((g) => g.a === "sqs:SendMessage").map((g) => g.s.Resource);
    expect(sends).toHaveLength(2);
    expect(sends.filter((r) => mentions(r, logicalId("AWS::SQS::Queue", "RelayQueue")))).toHaveLength(1);
    expect(
      sends.filter((r) => mentions(r, logicalId("AWS::SQS::Queue", "RelayWorkerDeadLetterQueue"))),
    ).toHaveLength(1);
    for (const r of sends) expect(Array.isArray(r)).toBe(false);
    expect(mentions(byAction("kms:Decrypt").Resource, logicalId("AWS::KMS::Key", "RelayKey"))).toBe(true);
  });

  it("creates a VPC with private subnets behind NAT gateways and flow logs", () => {
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.resourceCountIs("AWS::EC2::NatGateway", 2);
    const [[, flowLog]] = ofType("AWS::EC2::FlowLog") as [[string, Json]];
    expect(flowLog.TrafficType).toBe("ALL");
    expect(flowLog.ResourceType).toBe("VPC");
    const [[, cluster]] = ofType("AWS::ECS::Cluster") as [[string, Json]];
    expect(cluster.ClusterSettings).toEqual([{ Name: "containerInsights", Value: "enabled" }]);
  });
});

describe("stack", () => {
  it("rotates every customer-managed key and retains the data keys", () => {
    const keys = ofType("AWS::KMS::Key");
    // Audit/lease tables, token cache, relay, alarm topic.
    expect(keys.length).toBe(4);
    for (const [id, k] of keys) {
      expect(k.EnableKeyRotation).toBe(true);
      expect(resources[id]!.DeletionPolicy).toBe("Retain");
    }
  });

  it("gives every log group a retention", () => {
    for (const [, g] of ofType("AWS::Logs::LogGroup")) expect(g.RetentionInDays).toBe(90);
  });

  it("alarms on gaps, dead letters, mint failures, lost redundancy and queue age, to an encrypted topic", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a);
    const byMetric = (name: string) => alarms.find((a) => a.MetricName === name);
    expect(byMetric("Gaps")).toMatchObject({
      Namespace: "tokenstream",
      Dimensions: [
        { Name: "service", Value: "tokenstream-worker" },
        { Name: "sourceKind", Value: "genesys" },
      ],
      Threshold: 1,
    });
    expect(byMetric("DeadLettered")).toMatchObject({ Namespace: "tokenstream", Threshold: 1 });
    expect(byMetric("SessionsStopped")).toMatchObject({ Namespace: "tokenstream", Threshold: 1 });
    for (const name of [
      "TopicsRefused",
      "SilentSessions",
      "MalformedFrames",
      "TokenRefusals",
      "ChannelEvictions",
    ])
      expect(byMetric(name)).toMatchObject({
        Namespace: "tokenstream",
        Dimensions: [
          { Name: "service", Value: "tokenstream-worker" },
          { Name: "sourceKind", Value: "genesys" },
        ],
        Threshold: 1,
      });
    expect(byMetric("AuditWriteFailures")).toMatchObject({
      Namespace: "tokenstream",
      Dimensions: [{ Name: "service", Value: "tokenstream-broker" }],
    });
    expect(byMetric("MintFailures")).toMatchObject({
      Namespace: "tokenstream",
      Dimensions: [{ Name: "service", Value: "tokenstream-broker" }],
    });
    expect(byMetric("LiveSessions")).toMatchObject({
      Threshold: 2,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
    });
    expect(byMetric("ApproximateAgeOfOldestMessage")).toMatchObject({ Threshold: 900 });
    expect(alarms.filter((a) => a.MetricName === "ApproximateNumberOfMessagesVisible")).toHaveLength(3);
    const topicId = logicalId("AWS::SNS::Topic", "AlarmTopic");
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
    const topic = resources[topicId]!.Properties;
    expect(mentions(topic.KmsMasterKeyId, logicalId("AWS::KMS::Key", "AlarmTopicKey"))).toBe(true);
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  });

  it("outputs the queue, broker URL and audit table", () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining([
        "QueueUrl",
        "QueueArn",
        "BrokerUrl",
        "AuditTableName",
        "AuditKeyArn",
        "WorkerTaskRoleArn",
        "DeadLetterQueueUrl",
        "WorkerDeadLetterQueueUrl",
      ]),
    );
  });
});
