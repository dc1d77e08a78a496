import { join } from "node:path";
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { Metric, MetricOptions } from "aws-cdk-lib/aws-cloudwatch";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import {
  ArnPrincipal,
  Effect,
  type IGrantable,
  type IRole,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import { Architecture, type FunctionUrl, FunctionUrlAuthType, InvokeMode } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { BrokerProfile } from "../shared/contracts.ts";
import { BROKER_SERVICE_NAME, type BrokerMetricName, brokerMetric, METRICS_NAMESPACE } from "./metrics.ts";
import { acknowledge, nagRef } from "./nag.ts";
import { BROKER_BUNDLE_TARGET, BROKER_RUNTIME } from "./node-runtime.ts";
import { REPO_ROOT } from "./paths.ts";

/** The scheduler's payload; the broker handler recognises it. */
export const SCHEDULED_REFRESH_INPUT = { kind: "scheduled-refresh" } as const;

/** One OAuth client the broker serves. */
export interface TokenBrokerProfileProps {
  /** Profile name (`GET /token?profile=<name>`). */
  readonly name: string;
  /** Identity-provider base URL; the broker posts to `<loginUrl>/oauth/token`. */
  readonly loginUrl: string;
  /** The operator-created secret holding `{"clientId":"...","clientSecret":"..."}`. Only read, never written. */
  readonly credentialsSecret: ISecret;
  /**
   * How the broker names the credentials secret in `GetSecretValue` (ARN, or name for a secret
   * referenced by name).
   * @default credentialsSecret.secretArn
   */
  readonly credentialsSecretId?: string;
  /**
   * Customer-managed KMS key encrypting the credentials secret; the broker gets `kms:Decrypt` on it through
   * Secrets Manager only.
   * @default - the secret uses the AWS managed key `aws/secretsmanager`, no key grant needed
   */
  readonly credentialsKey?: IKey;
}

export interface TokenBrokerProps {
  /** The OAuth clients, one token-cache secret each. At least one. */
  readonly profiles: readonly TokenBrokerProfileProps[];
  /**
   * Handler source file (bundled with the local esbuild, never Docker).
   * @default functions/broker/handler.ts in this repository
   */
  readonly entry?: string;
  /**
   * Lambda memory.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Lambda timeout: covers one identity-provider call with its retries, and a loser waiting for a lease.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Reserved concurrency, to cap identity-provider load and keep capacity for the broker.
   * @default - unreserved (uses the account's shared pool)
   */
  readonly reservedConcurrency?: number;
  /**
   * Principals (other than the worker task role, granted by the relay) allowed to call the Function URL.
   * @default - none
   */
  readonly invokerPrincipalArns?: readonly string[];
  /**
   * Fraction of a token's life after which the scheduled refresh mints a new one.
   * @default 0.75
   */
  readonly refreshAtFraction?: number;
  /**
   * Minimum remaining fraction of a token's life for it to be handed out.
   * @default 0.25
   */
  readonly minValidityFraction?: number;
  /**
   * Days an audit item is kept before DynamoDB TTL removes it.
   * @default 400
   */
  readonly auditRetentionDays?: number;
  /**
   * Broker log retention.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * How often the scheduler asks the broker to refresh tokens that passed `refreshAtFraction`.
   * @default Duration.minutes(5)
   */
  readonly refreshInterval?: Duration;
  /**
   * Removal policy of the audit table, lease table and KMS key.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Attribute names the broker writes; tables are keyed on them. */
export const LEASE_TABLE_KEY = "profile";
export const AUDIT_TABLE_PARTITION_KEY = "pk";
export const AUDIT_TABLE_SORT_KEY = "sk";
export const AUDIT_TABLE_TTL_ATTRIBUTE = "expiresAtEpoch";
export const LEASE_TABLE_TTL_ATTRIBUTE = "expiresAtEpoch";

/** Retries of a failed scheduled refresh; the next scheduled slot comes within `refreshInterval` anyway. */
const SCHEDULE_RETRY_ATTEMPTS = 2;

/**
 * The token broker: a Lambda behind an IAM-authenticated Function URL that mints, caches, rotates and audits
 * OAuth client-credentials tokens, refreshed on a schedule (DESIGN.md section 3).
 */
export class TokenBroker extends Construct {
  /** Encrypts the token-cache secrets, both tables and the schedule dead-letter queue. */
  readonly key: Key;
  readonly function: NodejsFunction;
  readonly functionUrl: FunctionUrl;
  /** `https://<id>.lambda-url.<region>.on.aws/` */
  readonly url: string;
  readonly role: IRole;
  readonly auditTable: Table;
  readonly leaseTable: Table;
  readonly logGroup: LogGroup;
  /** Token-cache secret of each profile, by profile name. */
  readonly tokenSecrets: ReadonlyMap<string, Secret>;
  readonly schedule: Schedule;
  /** Receives scheduled refreshes that could not be delivered or failed after retries. */
  readonly scheduleDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: TokenBrokerProps) {
    super(scope, id);
    if (props.profiles.length === 0) throw new Error("TokenBroker needs at least one profile");
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const refreshInterval = props.refreshInterval ?? Duration.minutes(5);

    this.key = new Key(this, "Key", {
      description: "tokenstream broker: token cache secrets, lease and audit tables, schedule DLQ",
      enableKeyRotation: true,
      removalPolicy,
    });

    this.leaseTable = new Table(this, "LeaseTable", {
      partitionKey: { name: LEASE_TABLE_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // One item per profile; TTL only clears items of profiles that were removed (the lease store sets it).
      timeToLiveAttribute: LEASE_TABLE_TTL_ATTRIBUTE,
      removalPolicy,
    });

    this.auditTable = new Table(this, "AuditTable", {
      partitionKey: { name: AUDIT_TABLE_PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: AUDIT_TABLE_SORT_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: AUDIT_TABLE_TTL_ATTRIBUTE,
      removalPolicy,
    });

    const tokenSecrets = new Map<string, Secret>();
    for (const profile of props.profiles) {
      const secret = new Secret(this, `TokenCache-${profile.name}`, {
        description: `tokenstream broker token cache for profile ${profile.name} (CachedToken JSON, written by the broker)`,
        encryptionKey: this.key,
        // Placeholder until the first mint: not a CachedToken, so the broker treats it as empty.
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ uninitialized: true }),
          generateStringKey: "placeholder",
        },
      });
      acknowledge(
        secret,
        "AwsSolutions-SMG4",
        "SMG4 (automatic rotation): Secrets Manager rotation runs at most every 4 hours; this token cache is rotated by the broker itself on an EventBridge schedule every few minutes (PutSecretValue at ~75% of the token's life), so a rotation Lambda would only fight it.",
      );
      tokenSecrets.set(profile.name, secret);
    }
    this.tokenSecrets = tokenSecrets;

    this.logGroup = new LogGroup(this, "LogGroup", {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.scheduleDeadLetterQueue = new Queue(this, "ScheduleDeadLetterQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.scheduleDeadLetterQueue,
      "AwsSolutions-SQS3",
      "SQS3 (queue has a DLQ): this queue is itself the dead-letter queue of the refresh schedule and of the broker's asynchronous invocations; an alarm fires as soon as it holds a message.",
    );

    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "tokenstream broker: its own secrets, lease table, audit PutItem only, its log group",
    });
    this.role = role;
    this.logGroup.grantWrite(role);

    const profiles: BrokerProfile[] = props.profiles.map((p) => ({
      name: p.name,
      loginUrl: p.loginUrl,
      credentialsSecretArn: p.credentialsSecretId ?? p.credentialsSecret.secretArn,
      tokenSecretArn: tokenSecrets.get(p.name)!.secretArn,
    }));

    this.function = new NodejsFunction(this, "Function", {
      entry: props.entry ?? join(REPO_ROOT, "functions/broker/handler.ts"),
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      runtime: BROKER_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      role,
      logGroup: this.logGroup,
      description: "tokenstream token broker (Function URL, AWS_IAM) and scheduled refresh",
      environment: {
        PROFILES: stack.toJsonString(profiles),
        AUDIT_TABLE: this.auditTable.tableName,
        LEASE_TABLE: this.leaseTable.tableName,
        REFRESH_AT_FRACTION: String(props.refreshAtFraction ?? 0.75),
        MIN_VALIDITY_FRACTION: String(props.minValidityFraction ?? 0.25),
        AUDIT_RETENTION_DAYS: String(props.auditRetentionDays ?? 400),
        POWERTOOLS_SERVICE_NAME: BROKER_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        NODE_OPTIONS: "--enable-source-maps",
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: BROKER_BUNDLE_TARGET,
        minify: true,
        sourceMap: true,
        // Bundle the pinned SDK clients instead of trusting whatever the runtime ships.
        bundleAwsSDK: true,
        mainFields: ["module", "main"],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    // A scheduled refresh that still fails after one retry goes to the DLQ (alarmed); the next slot retries anyway.
    this.function.configureAsyncInvoke({
      retryAttempts: 1,
      maxEventAge: Duration.minutes(4),
      onFailure: { bind: () => ({ destination: this.scheduleDeadLetterQueue.queueArn }) },
    });
    role.addToPolicy(
      new PolicyStatement({
        sid: "AsyncFailureDestination",
        actions: ["sqs:SendMessage"],
        resources: [this.scheduleDeadLetterQueue.queueArn],
      }),
    );

    this.functionUrl = this.function.addFunctionUrl({
      authType: FunctionUrlAuthType.AWS_IAM,
      invokeMode: InvokeMode.BUFFERED,
    });
    this.url = this.functionUrl.url;
    for (const arn of props.invokerPrincipalArns ?? []) {
      this.function.grantInvokeUrl(new ArnPrincipal(arn));
    }

    this.grantBrokerAccess(role, props.profiles);

    const scheduleRole = new Role(this, "ScheduleRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
      description: "tokenstream refresh schedule: invoke the broker, dead-letter to its encrypted DLQ",
    });
    scheduleRole.addToPolicy(
      new PolicyStatement({
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [this.key.keyArn],
      }),
    );
    this.schedule = new Schedule(this, "RefreshSchedule", {
      description: "tokenstream: refresh every profile's token that passed its refresh point",
      schedule: ScheduleExpression.rate(refreshInterval),
      target: new LambdaInvoke(this.function, {
        input: ScheduleTargetInput.fromObject(SCHEDULED_REFRESH_INPUT),
        role: scheduleRole,
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        // Older than the interval is pointless: the next slot is already due.
        maxEventAge: Duration.seconds(Math.max(60, refreshInterval.toSeconds() - 60)),
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });
    acknowledge(
      scheduleRole.node.findChild("DefaultPolicy"),
      `AwsSolutions-IAM5[Resource::${nagRef(this, this.function.functionArn)}:*]`,
      "IAM5 (wildcard resource): the Scheduler LambdaInvoke target grants lambda:InvokeFunction on the broker function and its versions and aliases (function ARN followed by :*); it names this one function only.",
    );
  }

  /** Lets `grantee` call `GET /token` and `POST /token/refresh` through the Function URL. */
  grantInvokeUrl(grantee: IGrantable): void {
    this.function.grantInvokeUrl(grantee);
  }

  /** A broker metric (namespace tokenstream, dimension service=tokenstream-broker). */
  metric(name: BrokerMetricName, options?: MetricOptions): Metric {
    return brokerMetric(name, options);
  }

  private grantBrokerAccess(role: Role, profiles: readonly TokenBrokerProfileProps[]): void {
    profiles.forEach((profile, index) => {
      role.addToPolicy(
        new PolicyStatement({
          sid: `ReadCredentials${index}`,
          actions: ["secretsmanager:GetSecretValue"],
          resources: [secretPolicyArn(profile.credentialsSecret)],
        }),
      );
      if (!profile.credentialsSecret.secretFullArn) {
        acknowledge(
          role.node.findChild("DefaultPolicy"),
          `AwsSolutions-IAM5[Resource::${nagRef(this, secretPolicyArn(profile.credentialsSecret))}]`,
          `IAM5 (wildcard resource): profile ${profile.name}'s credentials secret is referenced by name; "-??????" only matches the 6-character suffix Secrets Manager appends to that one secret's ARN (configure credentialsSecretArn to avoid it).`,
        );
      }
      if (profile.credentialsKey) {
        role.addToPolicy(
          new PolicyStatement({
            sid: `DecryptCredentials${index}`,
            actions: ["kms:Decrypt"],
            resources: [profile.credentialsKey.keyArn],
            conditions: {
              StringEquals: {
                "kms:ViaService": `secretsmanager.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`,
              },
            },
          }),
        );
      }
    });
    role.addToPolicy(
      new PolicyStatement({
        sid: "TokenCache",
        // What SecretsManagerTokenStore calls: GetSecretValue (AWSCURRENT) and PutSecretValue.
        actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
        resources: [...this.tokenSecrets.values()].map((s) => s.secretArn),
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: "Lease",
        // What DynamoDbLeaseStore calls: a conditional PutItem to acquire, a conditional DeleteItem to release.
        actions: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
        resources: [this.leaseTable.tableArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: "AuditAppendOnly",
        effect: Effect.ALLOW,
        actions: ["dynamodb:PutItem"],
        resources: [this.auditTable.tableArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: "BrokerKey",
        actions: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
        resources: [this.key.keyArn],
        // Only through the services that hold data under this key: never a direct Decrypt call.
        conditions: {
          StringEquals: {
            "kms:ViaService": ["secretsmanager", "dynamodb", "sqs"].map(
              (service) => `${service}.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`,
            ),
          },
        },
      }),
    );
  }
}

/** The ARN form IAM needs: a secret referenced by name gets Secrets Manager's 6-character suffix wildcard. */
function secretPolicyArn(secret: ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}
