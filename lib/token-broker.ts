import { join } from "node:path";
import { Duration, Lazy, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { Metric, MetricOptions } from "aws-cdk-lib/aws-cloudwatch";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import {
  ArnPrincipal,
  type IGrantable,
  type IRole,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Architecture, type FunctionUrl, FunctionUrlAuthType, InvokeMode } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { BrokerProfile } from "../shared/contracts.ts";
import { DEFAULT_TOKEN_LANES, MAX_TOKEN_LANES } from "../shared/token-lanes.ts";
import { AuditArchive } from "./audit-archive.ts";
import { createAuditTable } from "./audit-table.ts";
import { grantBrokerAccess } from "./broker-access.ts";
import { BROKER_SERVICE_NAME, type BrokerMetricName, brokerMetric, METRICS_NAMESPACE } from "./metrics.ts";
import { acknowledge, nagRef } from "./nag.ts";
import { BROKER_BUNDLE_TARGET, BROKER_RUNTIME } from "./node-runtime.ts";
import { REPO_ROOT } from "./paths.ts";
import type { TokenBrokerProps } from "./token-broker-props.ts";
import { TokenCache } from "./token-cache.ts";

/** The scheduler's payload (the refresh function runs the same refresh whatever it receives). */
export const SCHEDULED_REFRESH_INPUT = { kind: "scheduled-refresh" } as const;

export { AUDIT_TABLE_PARTITION_KEY, AUDIT_TABLE_SORT_KEY, AUDIT_TABLE_TTL_ATTRIBUTE } from "./audit-table.ts";

export type { TokenBrokerProfileProps, TokenBrokerProps } from "./token-broker-props.ts";

/** Attribute names the broker writes; tables are keyed on them. */
export const LEASE_TABLE_KEY = "profile";
export const LEASE_TABLE_TTL_ATTRIBUTE = "expiresAtEpoch";

/** Retries of a failed scheduled refresh; the next scheduled slot comes within `refreshInterval` anyway. */
const SCHEDULE_RETRY_ATTEMPTS = 2;

/**
 * The token broker: a Lambda behind an IAM-authenticated Function URL that mints, caches, rotates and audits
 * OAuth client-credentials tokens, and a second function the schedule invokes to refresh them
 * (DESIGN.md section 3). Both share one role, the token cache and the tables.
 */
export class TokenBroker extends Construct {
  /** Encrypts the audit and lease tables and the schedule dead-letter queue (never a token). */
  readonly key: Key;
  /** The token cache: its own key, usable by the broker role through Secrets Manager only. */
  readonly tokenCache: TokenCache;
  /** The Function URL function (`GET /token`, `POST /token/refresh`). */
  readonly function: NodejsFunction;
  /** The scheduled-refresh function (no URL; the schedule is its only invoker). */
  readonly refreshFunction: NodejsFunction;
  readonly functionUrl: FunctionUrl;
  /** `https://<id>.lambda-url.<region>.on.aws/` */
  readonly url: string;
  readonly role: IRole;
  readonly scheduleRole: IRole;
  readonly auditTable: Table;
  readonly leaseTable: Table;
  readonly logGroup: LogGroup;
  readonly refreshLogGroup: LogGroup;
  /** Lane 0's token-cache secret ARN of each profile, by profile name (`tokenCache` has every lane's). */
  readonly tokenSecrets: ReadonlyMap<string, string>;
  readonly schedule: Schedule;
  /** The Object Lock copy of the audit trail, when `auditArchive` is set. */
  readonly auditArchive?: AuditArchive;
  /** Receives scheduled refreshes that could not be delivered or failed after retries. */
  readonly scheduleDeadLetterQueue: Queue;

  /** Allowed principals of each profile (the relay adds the worker task role to its own profile). */
  readonly #allowed = new Map<string, string[]>();

  constructor(scope: Construct, id: string, props: TokenBrokerProps) {
    super(scope, id);
    if (props.profiles.length === 0) throw new Error("TokenBroker needs at least one profile");
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const refreshInterval = props.refreshInterval ?? Duration.minutes(5);
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;

    this.key = new Key(this, "Key", {
      description: "tokenstream broker: lease and audit tables, schedule DLQ (no tokens)",
      enableKeyRotation: true,
      removalPolicy,
    });

    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "tokenstream broker: its own secrets, lease table, audit PutItem only, its log groups",
    });
    this.role = role;

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

    this.auditTable = createAuditTable(this, "AuditTable", {
      key: this.key,
      brokerRole: role,
      ...(props.auditBreakGlassRoleArn ? { breakGlassRoleArn: props.auditBreakGlassRoleArn } : {}),
      stream: props.auditArchive ?? false,
      removalPolicy,
    });

    if (props.auditArchive) {
      this.auditArchive = new AuditArchive(this, "AuditArchive", {
        table: this.auditTable,
        key: this.key,
        retentionDays: props.auditRetentionDays ?? 400,
        logRetention,
      });
    }

    for (const p of props.profiles) {
      const lanes = p.lanes ?? DEFAULT_TOKEN_LANES;
      if (!Number.isInteger(lanes) || lanes < 1 || lanes > MAX_TOKEN_LANES) {
        throw new Error(
          `TokenBroker: profile ${p.name} lanes must be an integer from 1 to ${MAX_TOKEN_LANES}`,
        );
      }
    }
    this.tokenCache = new TokenCache(this, "TokenCache", {
      profiles: props.profiles.map((p) => ({ name: p.name, lanes: p.lanes ?? DEFAULT_TOKEN_LANES })),
      brokerRole: role,
      removalPolicy,
    });
    this.tokenSecrets = this.tokenCache.secretArns;

    // Retained with the stack: broker log lines join the (retained) audit items by request id.
    this.logGroup = new LogGroup(this, "LogGroup", {
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.refreshLogGroup = new LogGroup(this, "RefreshLogGroup", {
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
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
      "SQS3 (queue has a DLQ): this queue is itself the dead-letter queue of the refresh schedule and of the refresh function's asynchronous invocations; an alarm fires as soon as it holds a message.",
    );

    this.logGroup.grantWrite(role);
    this.refreshLogGroup.grantWrite(role);

    for (const p of props.profiles) this.#allowed.set(p.name, [...(p.allowedPrincipals ?? [])]);
    // Lazy: the relay adds the worker task role after construction.
    const profiles = Lazy.string({
      produce: () =>
        stack.toJsonString(
          props.profiles.map(
            (p): BrokerProfile => ({
              name: p.name,
              loginUrl: p.loginUrl,
              credentialsSecretArn: p.credentialsSecretId ?? p.credentialsSecret.secretArn,
              tokenSecretArn: this.tokenSecrets.get(p.name)!,
              allowedPrincipals: this.#allowed.get(p.name)!,
              lanes: p.lanes ?? DEFAULT_TOKEN_LANES,
            }),
          ),
        ),
    });
    const environment = {
      PROFILES: profiles,
      TOKEN_SECRET_NAME_PREFIX: this.tokenCache.laneSecretPrefix,
      AUDIT_TABLE: this.auditTable.tableName,
      LEASE_TABLE: this.leaseTable.tableName,
      REFRESH_AT_FRACTION: String(props.refreshAtFraction ?? 0.75),
      MIN_VALIDITY_FRACTION: String(props.minValidityFraction ?? 0.25),
      AUDIT_RETENTION_DAYS: String(props.auditRetentionDays ?? 400),
      POWERTOOLS_SERVICE_NAME: BROKER_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: "--enable-source-maps",
    };
    const functionProps = {
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      runtime: BROKER_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      environment,
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
    };
    this.function = new NodejsFunction(this, "Function", {
      ...functionProps,
      entry: props.entries?.url ?? join(REPO_ROOT, "functions/broker/url-handler.ts"),
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      logGroup: this.logGroup,
      description: "tokenstream token broker: Function URL (AWS_IAM) GET /token and POST /token/refresh",
    });
    this.refreshFunction = new NodejsFunction(this, "RefreshFunction", {
      ...functionProps,
      entry: props.entries?.refresh ?? join(REPO_ROOT, "functions/broker/refresh-handler.ts"),
      logGroup: this.refreshLogGroup,
      description: "tokenstream token broker: scheduled refresh (no URL; invoked by the schedule only)",
    });
    // A scheduled refresh that still fails after one retry goes to the DLQ (alarmed); the next slot retries anyway.
    this.refreshFunction.configureAsyncInvoke({
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

    grantBrokerAccess(this, role, props.profiles, {
      tokenSecretArns: this.tokenCache.allSecretArns,
      tokenKey: this.tokenCache.key,
      tableKey: this.key,
      leaseTable: this.leaseTable,
      auditTable: this.auditTable,
    });

    const scheduleRole = new Role(this, "ScheduleRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
      description:
        "tokenstream refresh schedule: invoke the refresh function, dead-letter to its encrypted DLQ",
    });
    this.scheduleRole = scheduleRole;
    scheduleRole.addToPolicy(
      new PolicyStatement({
        sid: "DeadLetterKeyViaSqs",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { "kms:ViaService": `sqs.${stack.region}.${stack.urlSuffix}` } },
      }),
    );
    this.schedule = new Schedule(this, "RefreshSchedule", {
      description: "tokenstream: refresh every profile's token that passed its refresh point",
      schedule: ScheduleExpression.rate(refreshInterval),
      target: new LambdaInvoke(this.refreshFunction, {
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
      `AwsSolutions-IAM5[Resource::${nagRef(this, this.refreshFunction.functionArn)}:*]`,
      "IAM5 (wildcard resource): the Scheduler LambdaInvoke target grants lambda:InvokeFunction on the refresh function and its versions and aliases (function ARN followed by :*); it names this one function only.",
    );
  }

  /** Lets `principalArn` (an ARN or ARN pattern; a role covers its sessions) obtain `profile`'s token. */
  allowPrincipal(profile: string, principalArn: string): void {
    const allowed = this.#allowed.get(profile);
    if (!allowed) throw new Error(`TokenBroker: no profile named ${profile}`);
    if (!allowed.includes(principalArn)) allowed.push(principalArn);
  }

  /** Lets `grantee` call `GET /token` and `POST /token/refresh` through the Function URL. */
  grantInvokeUrl(grantee: IGrantable): void {
    this.function.grantInvokeUrl(grantee);
  }

  /** A broker metric (namespace tokenstream, dimension service=tokenstream-broker). */
  metric(name: BrokerMetricName, options?: MetricOptions): Metric {
    return brokerMetric(name, options);
  }
}
