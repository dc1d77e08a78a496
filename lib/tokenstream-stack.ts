import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { type IVpc, Vpc } from "aws-cdk-lib/aws-ec2";
import { ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import type { TokenstreamConfig } from "./config.ts";
import { EventRelay } from "./event-relay.ts";
import { TokenBroker, type TokenBrokerProfileProps } from "./token-broker.ts";
import { TokenstreamAlarms } from "./tokenstream-alarms.ts";
import { TokenstreamDashboard } from "./tokenstream-dashboard.ts";

export interface TokenstreamStackProps extends StackProps {
  /** Validated configuration (see lib/config.ts). */
  readonly config: TokenstreamConfig;
  /**
   * Broker handler source file.
   * @default functions/broker/handler.ts in this repository
   */
  readonly brokerEntry?: string;
}

/** The whole tokenstream deployment: broker, relay, alarms, dashboard and outputs. */
export class TokenstreamStack extends Stack {
  readonly broker: TokenBroker;
  readonly relay: EventRelay;
  readonly alarms: TokenstreamAlarms;
  readonly dashboard: TokenstreamDashboard;
  readonly alarmTopic: ITopic;

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
      };
    });

    this.broker = new TokenBroker(this, "Broker", {
      profiles,
      ...(props.brokerEntry ? { entry: props.brokerEntry } : {}),
      ...(config.brokerReservedConcurrency !== undefined
        ? { reservedConcurrency: config.brokerReservedConcurrency }
        : {}),
      invokerPrincipalArns: config.invokerPrincipals,
      refreshAtFraction: config.refreshAtFraction,
      minValidityFraction: config.minValidityFraction,
      auditRetentionDays: config.auditRetentionDays,
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

    this.alarmTopic = config.alarmTopicArn
      ? Topic.fromTopicArn(this, "AlarmTopic", config.alarmTopicArn)
      : this.createAlarmTopic(config.alarmEmail);

    this.alarms = new TokenstreamAlarms(this, "Alarms", {
      broker: this.broker,
      relay: this.relay,
      redundancy: config.redundancy,
      maxQueueAge: Duration.seconds(config.queueAgeAlarmSeconds),
      topic: this.alarmTopic,
    });
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
    new CfnOutput(this, "RelayKeyArn", {
      value: this.relay.key.keyArn,
      description: "KMS key of the queues and offload bucket: consumers need kms:Decrypt on it",
    });
    new CfnOutput(this, "OffloadBucketName", {
      value: this.relay.offloadBucket.bucketName,
      description: "S3 bucket holding events larger than an SQS message (event-pointer messages)",
    });
    new CfnOutput(this, "BrokerUrl", {
      value: this.broker.url,
      description: "Token broker Function URL (AWS_IAM)",
    });
    new CfnOutput(this, "BrokerFunctionArn", {
      value: this.broker.function.functionArn,
      description: "Token broker function; grant lambda:InvokeFunctionUrl on it to callers",
    });
    new CfnOutput(this, "AuditTableName", {
      value: this.broker.auditTable.tableName,
      description: "Append-only audit table (mint, rotation, hand-out, refusal, failure)",
    });
    new CfnOutput(this, "AuditKeyArn", {
      value: this.broker.key.keyArn,
      description: "KMS key of the audit table: auditors need kms:Decrypt on it to query",
    });
    new CfnOutput(this, "WorkerTaskRoleArn", {
      value: this.relay.taskDefinition.taskRole.roleArn,
      description: "The worker's task role: the principal of its broker hand-outs in the audit table",
    });
    new CfnOutput(this, "AlarmTopicArn", {
      value: this.alarmTopic.topicArn,
      description: "SNS topic of all alarms",
    });
  }

  private createAlarmTopic(email: string | undefined): Topic {
    const key = new Key(this, "AlarmTopicKey", {
      description: "tokenstream alarm topic",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic.
    key.grant(new ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey");
    const topic = new Topic(this, "AlarmTopic", {
      displayName: "tokenstream alarms",
      masterKey: key,
      enforceSSL: true,
    });
    if (email) topic.addSubscription(new EmailSubscription(email));
    return topic;
  }
}
