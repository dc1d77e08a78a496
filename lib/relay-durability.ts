import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, Stats, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { AlarmBehavior, type FargateTaskDefinition } from "aws-cdk-lib/aws-ecs";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import type { EventRelay } from "./event-relay.ts";
import { acknowledge, nagRef } from "./nag.ts";

/** Key prefix of the durable backlog in its bucket (the worker writes `backlog/<scope>/<task>/<segment>`). */
export const BACKLOG_PREFIX = "backlog/";
/** The coverage table's TTL attribute (written by worker/coverage/dynamodb-coverage-store.ts). */
export const COVERAGE_TTL_ATTRIBUTE = "expiresAtEpoch";

export interface RelayDurabilityProps {
  readonly relay: EventRelay;
  /**
   * Coverage scope: tasks sharing it cover for each other and adopt each other's backlog. Each shard (its
   * own topic set) gets its own: `<scope>` for a single `default` shard, else `<scope>-<shard name>`.
   * @default the stack name
   */
  readonly scope?: string;
  /**
   * Lifetime of a backlog object (an orphan not adopted within it is gone); keep it at least the queue
   * retention.
   * @default Duration.days(14)
   */
  readonly backlogRetention?: Duration;
  /**
   * Backlog bound per task (BACKLOG_MAX_BYTES); keep it well under the task's ephemeral storage.
   * @default 4 GiB
   */
  readonly maxBacklogBytes?: number;
  /**
   * Age of the oldest undelivered message that alarms.
   * @default Duration.minutes(15)
   */
  readonly maxBacklogAge?: Duration;
  /** Where alarm and OK notifications go. @default - no actions */
  readonly topic?: ITopic;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What survives a worker task (DESIGN.md section 7, docs/durability.md): the durable backlog (S3, the relay's
 * KMS key) and the coverage ledger (DynamoDB, the relay's KMS key, PITR, TTL), grants to the task role only,
 * the worker's environment for both, alarms on backlog age and size, on recorded gaps and on a task not
 * covering, and ECS deployment alarms that roll a release back when its tasks do not cover.
 */
export class RelayDurability extends Construct {
  readonly backlogBucket: Bucket;
  readonly coverageTable: Table;
  readonly backlogAge: Alarm;
  readonly backlogSize: Alarm;
  readonly backlogOverflow: Alarm;
  readonly coverageGap: Alarm;
  /** Gates deployments: a task of the new release that does not cover rolls the deployment back. */
  readonly notCovering: Alarm;
  private readonly relayKeyArn: string;

  constructor(scope: Construct, id: string, props: RelayDurabilityProps) {
    super(scope, id);
    const { relay } = props;
    this.relayKeyArn = relay.key.keyArn;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const maxBacklogBytes = props.maxBacklogBytes ?? 4 * 1024 ** 3;

    this.backlogBucket = new Bucket(this, "BacklogBucket", {
      encryption: BucketEncryption.KMS,
      encryptionKey: relay.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: relay.accessLogBucket,
      serverAccessLogsPrefix: "backlog/",
      lifecycleRules: [
        {
          expiration: props.backlogRetention ?? Duration.days(14),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });

    this.coverageTable = new Table(this, "CoverageTable", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      sortKey: { name: "sk", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: relay.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: COVERAGE_TTL_ATTRIBUTE,
      removalPolicy,
    });

    const baseScope = props.scope ?? Stack.of(this).stackName;
    const single = relay.shardServices.length === 1 && relay.shardServices[0]!.shard.name === "default";
    for (const shard of relay.shardServices) {
      const container = shard.taskDefinition.defaultContainer;
      if (!container) throw new Error("RelayDurability: a shard's task definition has no container");
      container.addEnvironment("BACKLOG_BUCKET", this.backlogBucket.bucketName);
      container.addEnvironment("COVERAGE_TABLE", this.coverageTable.tableName);
      container.addEnvironment("COVERAGE_SCOPE", single ? baseScope : `${baseScope}-${shard.shard.name}`);
      container.addEnvironment("BACKLOG_MAX_BYTES", String(maxBacklogBytes));
      this.grantTaskRole(shard.taskDefinition);
    }

    const metric = (name: Parameters<EventRelay["metric"]>[0], statistic: string) =>
      relay.metric(name, { period: Duration.minutes(1), statistic });
    const maxAge = props.maxBacklogAge ?? Duration.minutes(15);
    this.backlogAge = new Alarm(this, "DurableBacklogAge", {
      alarmDescription: `A worker task has held an event for more than ${maxAge.toSeconds()} s without SQS accepting it (SQS unreachable or throttling): it is safe in the durable backlog, but consumers do not see it.`,
      metric: metric("BacklogAgeMs", Stats.MAXIMUM),
      threshold: maxAge.toMilliseconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.backlogSize = new Alarm(this, "DurableBacklogSize", {
      alarmDescription: `A worker task's backlog passed 75% of its bound (${maxBacklogBytes} bytes). At the bound new events are refused and recorded as a coverage gap.`,
      metric: metric("BacklogBytes", Stats.MAXIMUM),
      threshold: Math.floor(maxBacklogBytes * 0.75),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.backlogOverflow = new Alarm(this, "BacklogOverflow", {
      alarmDescription:
        "A worker task refused events because its backlog reached its bound; the interval is recorded as a tokenstream.gap to back-fill.",
      metric: metric("BacklogOverflow", Stats.SUM),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.coverageGap = new Alarm(this, "CoverageGap", {
      alarmDescription:
        "The coverage ledger recorded an interval no task covered (a crash, a task that never went live, a lapse): the tokenstream.gap message names it. Back-fill it through the Genesys REST API.",
      metric: metric("CoverageGaps", Stats.SUM),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.notCovering = new Alarm(this, "NotCovering", {
      alarmDescription:
        "A worker task has not covered its topics for 2 minutes. During a deployment this rolls the release back (ECS deployment alarm); otherwise the upstream or the identity provider is down, and tasks are left running (their health check is process liveness).",
      metric: metric("Covering", Stats.MINIMUM),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    for (const shard of relay.shardServices) {
      shard.service.enableDeploymentAlarms([this.notCovering.alarmName], {
        behavior: AlarmBehavior.ROLLBACK_ON_ALARM,
      });
    }

    if (props.topic) {
      const action = new SnsAction(props.topic);
      for (const alarm of this.alarms()) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  alarms(): Alarm[] {
    return this.node.children.filter((child): child is Alarm => child instanceof Alarm);
  }

  /** The task role only: read, write and delete backlog objects, list their prefix; heartbeat and claim. */
  private grantTaskRole(taskDefinition: FargateTaskDefinition): void {
    const taskRole = taskDefinition.taskRole;
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "DurableBacklogObjects",
        actions: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
        resources: [this.backlogBucket.arnForObjects(`${BACKLOG_PREFIX}*`)],
      }),
    );
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "DurableBacklogList",
        actions: ["s3:ListBucket"],
        resources: [this.backlogBucket.bucketArn],
        conditions: { StringLike: { "s3:prefix": [`${BACKLOG_PREFIX}*`] } },
      }),
    );
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "CoverageLedgerKey",
        // The coverage table is encrypted with the relay's key: only through DynamoDB, never a direct call.
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: [this.relayKeyArn],
        conditions: {
          StringEquals: { "kms:ViaService": `dynamodb.${Stack.of(this).region}.${Stack.of(this).urlSuffix}` },
        },
      }),
    );
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "CoverageLedger",
        actions: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
        resources: [this.coverageTable.tableArn],
      }),
    );
    const policy = taskDefinition.node.tryFindChild("TaskRole")?.node.tryFindChild("DefaultPolicy");
    if (policy) {
      acknowledge(
        policy,
        `AwsSolutions-IAM5[Resource::${nagRef(this, this.backlogBucket.bucketArn)}/${BACKLOG_PREFIX}*]`,
        "IAM5 (wildcard resource): the worker stores, reads back and deletes one object per spool segment under backlog/<scope>/<task>/, names it cannot know in advance; limited to that prefix of this one bucket.",
      );
    }
  }
}
