import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import { type IVpc, Vpc } from "aws-cdk-lib/aws-ec2";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { createAlarmTopic } from "./alarm-topic.ts";
import type { TokenstreamConfig } from "./config.ts";
import { EventRelay } from "./event-relay.ts";
import { brokerInvokeGuard } from "./invoke-guard.ts";
import { RelayDurability } from "./relay-durability.ts";
import { TokenBroker, type TokenBrokerProfileProps } from "./token-broker.ts";
import { TokenstreamAlarms } from "./tokenstream-alarms.ts";
import { TokenstreamDashboard } from "./tokenstream-dashboard.ts";

export interface TokenstreamStackProps extends StackProps {
  /** Validated configuration (see lib/config.ts). */
  readonly config: TokenstreamConfig;
  /**
   * Broker handler source files (Function URL function, scheduled-refresh function).
   * @default functions/broker/url-handler.ts and refresh-handler.ts in this repository
   */
  readonly brokerEntries?: { readonly url: string; readonly refresh: string };
}

/** The whole tokenstream deployment: broker, relay, alarms, dashboard and outputs. */
export class TokenstreamStack extends Stack {
  readonly broker: TokenBroker;
  readonly relay: EventRelay;
  readonly durability: RelayDurability;
  readonly alarms: TokenstreamAlarms;
  readonly dashboard: TokenstreamDashboard;
  /** Where alarms notify; undefined only with the explicit `alarmsWithoutDestination` opt-out. */
  readonly alarmTopic?: ITopic;

  constructor(scope: Construct, id: string, props: TokenstreamStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as RetentionDays;

    const profiles: TokenBrokerProfileProps[] = config.profiles.map((p) => {
      const ref = p.credentialsSecret;
      const credentialsSecret =
        "arn" in ref
          ? Secret.fromSecretCompleteArn(this, `Credentials-${p.name}`, ref.arn)
          : Secret.fromSecretNameV2(this, `Credentials-${p.name}`, ref.name);
      const credentialsKey: IKey | undefined = p.credentialsKmsKeyArn
        ? Key.fromKeyArn(this, `CredentialsKey-${p.name}`, p.credentialsKmsKeyArn)
        : undefined;
      return {
        name: p.name,
        loginUrl: p.loginUrl,
        credentialsSecret,
        credentialsSecretId: "arn" in ref ? ref.arn : ref.name,
        ...(credentialsKey ? { credentialsKey } : {}),
        allowedPrincipals: p.allowedPrincipals,
        lanes: p.lanes,
      };
    });

    this.broker = new TokenBroker(this, "Broker", {
      profiles,
      ...(props.brokerEntries ? { entries: props.brokerEntries } : {}),
      ...(config.brokerReservedConcurrency !== undefined
        ? { reservedConcurrency: config.brokerReservedConcurrency }
        : {}),
      invokerPrincipalArns: config.invokerPrincipals,
      refreshAtFraction: config.refreshAtFraction,
      minValidityFraction: config.minValidityFraction,
      auditRetentionDays: config.auditRetentionDays,
      ...(config.auditBreakGlassRoleArn ? { auditBreakGlassRoleArn: config.auditBreakGlassRoleArn } : {}),
      auditArchive: config.auditArchive,
      logRetention,
    });

    const vpc: IVpc | undefined = config.vpcId
      ? Vpc.fromLookup(this, "Vpc", { vpcId: config.vpcId })
      : undefined;
    this.relay = new EventRelay(this, "Relay", {
      broker: this.broker,
      shards: config.shards,
      sourceKind: config.sourceKind,
      ...(config.genesysEnv ? { genesysEnv: config.genesysEnv } : {}),
      ...(config.genericStreamUrl ? { genericStreamUrl: config.genericStreamUrl } : {}),
      ...(config.genericTokenIn ? { genericTokenIn: config.genericTokenIn } : {}),
      sinkInFlight: config.sinkInFlight,
      highThroughput: config.queueHighThroughput,
      ...(vpc ? { vpc } : { natGateways: config.natGateways }),
      queueRetention: Duration.days(config.queueRetentionDays),
      offloadRetention: Duration.days(config.offloadRetentionDays),
      logRetention,
    });

    if (config.alarmTopicArn) {
      this.alarmTopic = Topic.fromTopicArn(this, "AlarmTopic", config.alarmTopicArn);
    } else if (!config.alarmsWithoutDestination) {
      this.alarmTopic = createAlarmTopic(this, config.alarmEmail).topic;
    }

    this.alarms = new TokenstreamAlarms(this, "Alarms", {
      broker: this.broker,
      relay: this.relay,
      redundancy: config.redundancy,
      maxQueueAge: Duration.seconds(config.queueAgeAlarmSeconds),
      maxBacklogDepth: config.backlogAlarmDepth,
      maxBacklogAge: Duration.seconds(config.backlogAlarmAgeSeconds),
      ...(this.alarmTopic ? { topic: this.alarmTopic } : {}),
    });
    this.durability = new RelayDurability(this, "Durability", { relay: this.relay, topic: this.alarmTopic });
    this.dashboard = new TokenstreamDashboard(this, "Dashboard", {
      broker: this.broker,
      relay: this.relay,
      alarms: this.alarms,
    });

    new CfnOutput(this, "QueueUrl", {
      value: this.relay.queue.queueUrl,
      description: "SQS FIFO event queue URL",
    });
    new CfnOutput(this, "QueueArn", {
      value: this.relay.queue.queueArn,
      description: "SQS FIFO event queue ARN",
    });
    new CfnOutput(this, "DeadLetterQueueUrl", {
      value: this.relay.deadLetterQueue.queueUrl,
      description: "SQS FIFO dead-letter queue URL",
    });
    new CfnOutput(this, "WorkerDeadLetterQueueUrl", {
      value: this.relay.workerDeadLetterQueue.queueUrl,
      description:
        "SQS queue of the worker's dead-letter records: events it could queue neither inline nor via S3 (identity, reason, content)",
    });
    new CfnOutput(this, "RelayKeyArn", {
      value: this.relay.key.keyArn,
      description: "KMS key of the queues and offload bucket: consumers need kms:Decrypt on it",
    });
    new CfnOutput(this, "OffloadBucketName", {
      value: this.relay.offloadBucket.bucketName,
      description: "S3 bucket holding events larger than an SQS message (event-pointer messages)",
    });
    new CfnOutput(this, "BacklogBucketName", {
      value: this.durability.backlogBucket.bucketName,
      description: "S3 bucket of the workers' durable backlog (events accepted and not yet in SQS)",
    });
    new CfnOutput(this, "CoverageTableName", {
      value: this.durability.coverageTable.tableName,
      description: "DynamoDB coverage ledger: which task covered the topics when; gap claims",
    });
    new CfnOutput(this, "BrokerUrl", {
      value: this.broker.url,
      description: "Token broker Function URL (AWS_IAM)",
    });
    new CfnOutput(this, "BrokerFunctionArn", {
      value: this.broker.function.functionArn,
      description:
        "Token broker Function URL function; callers need lambda:InvokeFunctionUrl (and InvokeFunction via the URL) on it",
    });
    new CfnOutput(this, "BrokerRefreshFunctionArn", {
      value: this.broker.refreshFunction.functionArn,
      description: "Token broker scheduled-refresh function (invoked by the schedule only)",
    });
    new CfnOutput(this, "BrokerInvokeGuardPolicy", {
      value: this.toJsonString(
        brokerInvokeGuard({
          urlFunctionArn: this.broker.function.functionArn,
          refreshFunctionArn: this.broker.refreshFunction.functionArn,
          scheduleRoleArn: this.broker.scheduleRole.roleArn,
        }),
      ),
      description:
        "SCP (or permissions boundary) statement that stops direct invokes of the broker with a forged identity: see docs/security.md",
    });
    new CfnOutput(this, "AuditTableName", {
      value: this.broker.auditTable.tableName,
      description: "Append-only audit table (mint, rotation, hand-out, refusal, failure)",
    });
    new CfnOutput(this, "AuditKeyArn", {
      value: this.broker.key.keyArn,
      description:
        "KMS key of the audit and lease tables (never a token): auditors need kms:Decrypt on it, via DynamoDB, to query",
    });
    new CfnOutput(this, "WorkerTaskRoleArn", {
      value: this.relay.taskDefinition.taskRole.roleArn,
      description: "The worker's task role: the principal of its broker hand-outs in the audit table",
    });
    if (this.broker.auditArchive) {
      new CfnOutput(this, "AuditArchiveBucketName", {
        value: this.broker.auditArchive.bucket.bucketName,
        description: "Object Lock (compliance) copy of every audit-table change, under audit/<pk>/<sk>/",
      });
    }
    if (this.alarmTopic) {
      new CfnOutput(this, "AlarmTopicArn", {
        value: this.alarmTopic.topicArn,
        description: "SNS topic of all alarms",
      });
    }
    new CfnOutput(this, "AlarmTestCommand", {
      value: `aws cloudwatch set-alarm-state --region ${this.region} --alarm-name ${this.alarms.gapRecorded.alarmName} --state-value ALARM --state-reason "tokenstream alarm delivery test"`,
      description:
        "Fires a test notification through the real alarm path (CloudWatch -> SNS -> subscribers); the alarm returns to OK at its next evaluation",
    });
  }
}
