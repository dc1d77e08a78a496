import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { Metric, MetricOptions } from "aws-cdk-lib/aws-cloudwatch";
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  type FargateService,
  type FargateTaskDefinition,
} from "aws-cdk-lib/aws-ecs";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Key } from "aws-cdk-lib/aws-kms";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Bucket } from "aws-cdk-lib/aws-s3";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { OFFLOAD_OBJECT_PREFIX } from "../shared/contracts.ts";
import type { ResolvedShard, SourceKind } from "./config.ts";
import { METRICS_NAMESPACE, WORKER_SERVICE_NAME, type WorkerMetricName, workerMetric } from "./metrics.ts";
import { acknowledge, nagRef } from "./nag.ts";
import { REPO_ROOT } from "./paths.ts";
import { createRelayStorage } from "./relay-storage.ts";
import { ShardService } from "./shard-service.ts";
import type { TokenBroker } from "./token-broker.ts";

export { QUEUE_MAX_MESSAGE_BYTES } from "./relay-storage.ts";

export const HEALTH_PORT = 8080;
/** The `node` user of the worker image (worker/Dockerfile `USER node`), as uid:gid: never root. */
export const CONTAINER_USER = "1000:1000";
export const SPOOL_DIR = "/var/spool/tokenstream";
/** ECS waits this long after SIGTERM before SIGKILL (the Fargate maximum). */
export const STOP_TIMEOUT = Duration.seconds(120);
/** The worker's own drain deadline, inside STOP_TIMEOUT with room for the process to exit. */
export const SHUTDOWN_TIMEOUT = Duration.seconds(100);

/**
 * The Docker build context is the repository root, narrowed to what worker/Dockerfile copies, so the image
 * (and its asset hash) changes only when the worker, the shared contracts or the lockfile change.
 */
export const IMAGE_CONTEXT_EXCLUDES = [
  "*",
  "!package.json",
  "!package-lock.json",
  "!tsconfig.json",
  "!shared",
  "!worker",
  "**/node_modules",
  "**/*.test.ts",
];

/**
 * Container health probe (node:24-bookworm-slim has no curl; Node's global fetch does the job): healthy while
 * `/livez` answers 200, i.e. the process is alive (event loop turning, sink not wedged), never upstream or
 * SQS success (worker/health.ts).
 * - Deployments stay make-before-break: during its start-up grace a new task is healthy only once it has
 *   covered the topics, so ECS stops the old task only then; a release that never covers is rolled back by
 *   the NotCovering deployment alarm (lib/relay-durability.ts).
 * - An upstream, identity-provider or SQS outage never gets a task replaced: a new task would not fare
 *   better and would open new channels in a loop. `/healthz` still reports upstream and sink state.
 */
export const HEALTH_CHECK_COMMAND = [
  "CMD",
  "node",
  "-e",
  `fetch('http://127.0.0.1:${HEALTH_PORT}/livez').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))`,
];
/** ECS ignores failed checks this long after start (its maximum); the worker's start-up grace ends inside it. */
export const HEALTH_CHECK_START_PERIOD = Duration.seconds(300);
export const STARTUP_GRACE = Duration.seconds(240);

export interface EventRelayProps {
  /** The broker the worker gets its tokens from; the task role may invoke its Function URL only. */
  readonly broker: TokenBroker;
  /**
   * The shards: each a broker profile (`TOKEN_PROFILE`) and topic set, run as its own Fargate service with its
   * own task count, redundancy, CPU and memory. A single shard named `default` keeps the construct paths of
   * the single-service relay; other shards live under `Shard-<name>`.
   */
  readonly shards: readonly ResolvedShard[];
  /**
   * Upstream kind.
   * @default "genesys"
   */
  readonly sourceKind?: SourceKind;
  /**
   * Genesys Cloud region domain (e.g. `mypurecloud.com`); required for the genesys source kind.
   * @default - none (generic source kind)
   */
  readonly genesysEnv?: string;
  /**
   * Stream URL (wss://) for the generic source kind.
   * @default - none (genesys source kind)
   */
  readonly genericStreamUrl?: string;
  /**
   * Where the generic source kind carries the token.
   * @default - the worker's default ("query": `access_token` query parameter)
   */
  readonly genericTokenIn?: "query" | "header";
  /**
   * An existing VPC with private subnets that reach the internet (NAT). Its subnets of type
   * PRIVATE_WITH_EGRESS host the tasks. Its default security group, public IP mapping and endpoints are the
   * owner's to configure.
   * @default - a new VPC over 2 AZs: public subnets (no public IP mapping) with NAT gateways, private subnets
   * for the tasks, an S3 gateway endpoint, a default security group without rules, flow logs
   */
  readonly vpc?: IVpc;
  /**
   * NAT gateways of the VPC created when `vpc` is not given (one per AZ keeps egress when an AZ fails).
   * @default 2
   */
  readonly natGateways?: number;
  /**
   * Bounds of each worker's adaptive SendMessageBatch concurrency (`SINK_MIN_IN_FLIGHT`, `SINK_MAX_IN_FLIGHT`).
   * @default - the worker's defaults (2 and 64)
   */
  readonly sinkInFlight?: { readonly min: number; readonly max: number };
  /**
   * SQS FIFO high throughput: de-duplication scope and throughput limit per message group (= topic), so
   * groups do not throttle each other. Needs de-duplication ids unique per event within a group (they are).
   * @default true
   */
  readonly highThroughput?: boolean;
  /**
   * How long SQS keeps an undelivered message.
   * @default Duration.days(4)
   */
  readonly queueRetention?: Duration;
  /**
   * Receives before a message moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Visibility timeout consumers get per receive.
   * @default Duration.seconds(60)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Lifetime of an offloaded (> 1 MiB) event in S3; keep it at least the queue retention.
   * @default Duration.days(14)
   */
  readonly offloadRetention?: Duration;
  /**
   * Worker log retention (also the VPC flow logs' retention); both log groups are retained with the stack.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Mount the root filesystem read-only; the spool directory and /tmp are writable task-storage volumes.
   * @default true
   */
  readonly readonlyRootFilesystem?: boolean;
  /**
   * Docker build context of the worker image (with `worker/Dockerfile` in it).
   * @default the repository root
   */
  readonly imageDirectory?: string;
  /**
   * Removal policy of the queues, the offload bucket, its access-log bucket and the KMS key.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The connection worker on ECS Fargate and the SQS FIFO queue it writes every event to
 * (DESIGN.md section 4).
 */
export class EventRelay extends Construct {
  /** Encrypts both queues and the offload bucket. Consumers need kms:Decrypt on it. */
  readonly key: Key;
  readonly queue: Queue;
  /** Redrive target of the event queue: messages a consumer failed `maxReceiveCount` times. */
  readonly deadLetterQueue: Queue;
  /** Standard queue of the worker's dead-letter records (DEAD_LETTER_QUEUE_URL): messages it could not queue. */
  readonly workerDeadLetterQueue: Queue;
  /** Events larger than an SQS message, referenced by a pointer message. */
  readonly offloadBucket: Bucket;
  readonly accessLogBucket: Bucket;
  readonly vpc: IVpc;
  readonly cluster: Cluster;
  /** One per shard, in configuration order. */
  readonly shardServices: readonly ShardService[];
  /** The first shard's task definition. */
  readonly taskDefinition: FargateTaskDefinition;
  /** The first shard's service. */
  readonly service: FargateService;
  readonly logGroup: LogGroup;
  /** The worker's source kind: also a dimension of every worker metric. */
  readonly sourceKind: SourceKind;

  constructor(scope: Construct, id: string, props: EventRelayProps) {
    super(scope, id);
    // Grant S3 log delivery through a bucket policy instead of the legacy LogDeliveryWrite ACL.
    this.node.setContext("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", true);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const sourceKind = props.sourceKind ?? "genesys";
    this.sourceKind = sourceKind;
    if (sourceKind === "genesys" && !props.genesysEnv)
      throw new Error("EventRelay: genesys needs genesysEnv");
    if (sourceKind === "generic" && !props.genericStreamUrl) {
      throw new Error("EventRelay: generic needs genericStreamUrl");
    }

    const storage = createRelayStorage(this, {
      removalPolicy,
      highThroughput: props.highThroughput ?? true,
      queueRetention: props.queueRetention ?? Duration.days(4),
      visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(60),
      maxReceiveCount: props.maxReceiveCount ?? 5,
      offloadRetention: props.offloadRetention ?? Duration.days(14),
    });
    this.key = storage.key;
    this.queue = storage.queue;
    this.deadLetterQueue = storage.deadLetterQueue;
    this.workerDeadLetterQueue = storage.workerDeadLetterQueue;
    this.offloadBucket = storage.offloadBucket;
    this.accessLogBucket = storage.accessLogBucket;

    this.vpc = props.vpc ?? this.createVpc(props.natGateways ?? 2, logRetention);

    this.cluster = new Cluster(this, "Cluster", {
      vpc: this.vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });

    this.logGroup = new LogGroup(this, "LogGroup", {
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (props.shards.length === 0) throw new Error("EventRelay: at least one shard");
    const environment: Record<string, string> = {
      SOURCE_KIND: sourceKind,
      TOKEN_SOURCE: "broker",
      BROKER_URL: props.broker.url,
      QUEUE_URL: this.queue.queueUrl,
      OFFLOAD_BUCKET: this.offloadBucket.bucketName,
      DEAD_LETTER_QUEUE_URL: this.workerDeadLetterQueue.queueUrl,
      AWS_REGION: stack.region,
      HEALTH_PORT: String(HEALTH_PORT),
      SPOOL_DIR,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT.toMilliseconds()),
      STARTUP_GRACE_MS: String(STARTUP_GRACE.toMilliseconds()),
      POWERTOOLS_SERVICE_NAME: WORKER_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    if (props.genesysEnv) environment.GENESYS_ENV = props.genesysEnv;
    if (props.genericStreamUrl) environment.GENERIC_STREAM_URL = props.genericStreamUrl;
    if (props.genericTokenIn) environment.GENERIC_TOKEN_IN = props.genericTokenIn;
    if (props.sinkInFlight) {
      environment.SINK_MIN_IN_FLIGHT = String(props.sinkInFlight.min);
      environment.SINK_MAX_IN_FLIGHT = String(props.sinkInFlight.max);
    }

    const image = ContainerImage.fromAsset(props.imageDirectory ?? REPO_ROOT, {
      file: "worker/Dockerfile",
      platform: Platform.LINUX_ARM64,
      exclude: IMAGE_CONTEXT_EXCLUDES,
    });

    // DNS (the VPC resolver) and time sync (169.254.169.123) are not subject to security groups.
    const securityGroup = new SecurityGroup(this, "SecurityGroup", {
      vpc: this.vpc,
      description: "tokenstream worker: no inbound traffic; outbound HTTPS to Genesys Cloud and AWS APIs",
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), "HTTPS: Genesys Cloud, broker URL, AWS APIs");

    const single = props.shards.length === 1 && props.shards[0]!.name === "default";
    this.shardServices = props.shards.map((shard) => {
      const workers = new ShardService(single ? this : new Construct(this, `Shard-${shard.name}`), {
        shard,
        cluster: this.cluster,
        image,
        securityGroup,
        logGroup: this.logGroup,
        environment,
        readonlyRootFilesystem: props.readonlyRootFilesystem ?? true,
        spoolDir: SPOOL_DIR,
        stopTimeout: STOP_TIMEOUT,
        user: CONTAINER_USER,
        healthCheckCommand: HEALTH_CHECK_COMMAND,
        healthCheckStartPeriod: HEALTH_CHECK_START_PERIOD,
        healthPort: HEALTH_PORT,
      });
      this.grantWorkerAccess(workers.taskDefinition, props.broker);
      // The shard's own profile only: any other profile refuses its role (and audits the refusal).
      props.broker.allowPrincipal(shard.profile, workers.taskDefinition.taskRole.roleArn);
      return workers;
    });
    this.taskDefinition = this.shardServices[0]!.taskDefinition;
    this.service = this.shardServices[0]!.service;
  }

  /** A worker metric (namespace tokenstream, dimensions service=tokenstream-worker and sourceKind). */
  metric(name: WorkerMetricName, options?: MetricOptions): Metric {
    return workerMetric(name, this.sourceKind, options);
  }

  private grantWorkerAccess(taskDefinition: FargateTaskDefinition, broker: TokenBroker): void {
    const taskRole = taskDefinition.taskRole;
    broker.grantInvokeUrl(taskRole);
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "SendEvents",
        // SendMessageBatch is authorised as sqs:SendMessage; the worker needs nothing else on the queue.
        actions: ["sqs:SendMessage"],
        resources: [this.queue.queueArn],
      }),
    );
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "DeadLetterRecords",
        actions: ["sqs:SendMessage"],
        resources: [this.workerDeadLetterQueue.queueArn],
      }),
    );
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "OffloadLargeEvents",
        actions: ["s3:PutObject"],
        resources: [this.offloadBucket.arnForObjects(`${OFFLOAD_OBJECT_PREFIX}/*`)],
      }),
    );
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "RelayKey",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [this.key.keyArn],
        // Only through the queue and the offload bucket, never a direct KMS call.
        conditions: {
          StringEquals: {
            "kms:ViaService": ["sqs", "s3"].map(
              (s) => `${s}.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`,
            ),
          },
        },
      }),
    );
    const policy = taskDefinition.node.tryFindChild("TaskRole")?.node.tryFindChild("DefaultPolicy");
    if (policy) {
      acknowledge(
        policy,
        `AwsSolutions-IAM5[Resource::${nagRef(this, this.offloadBucket.bucketArn)}/${OFFLOAD_OBJECT_PREFIX}/*]`,
        `IAM5 (wildcard resource): the worker writes one object per oversized event under a key it derives from the event; s3:PutObject is limited to objects under ${OFFLOAD_OBJECT_PREFIX}/ in this one bucket, no read, list or delete.`,
      );
    }
    const executionPolicy = taskDefinition.executionRole?.node.tryFindChild("DefaultPolicy");
    if (executionPolicy) {
      acknowledge(
        executionPolicy,
        "AwsSolutions-IAM5[Resource::*]",
        "IAM5 (wildcard resource): ecr:GetAuthorizationToken has no resource-level permissions (AWS requires Resource *); image pulls themselves are limited to the one asset repository.",
      );
    }
  }

  private createVpc(natGateways: number, logRetention: RetentionDays): Vpc {
    const vpc = new Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways,
      // Security Hub EC2.2: the default security group keeps no rules (a custom resource removes them).
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        // Security Hub EC2.15: only the NAT gateways (Elastic IPs) live here; nothing gets a public IP on launch.
        { name: "public", subnetType: SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: "workers", subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      // Offloaded events go to S3 without the NAT gateways.
      gatewayEndpoints: { S3: { service: GatewayVpcEndpointAwsService.S3 } },
    });
    const flowLogGroup = new LogGroup(this, "FlowLogGroup", {
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    vpc.addFlowLog("FlowLog", {
      destination: FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: FlowLogTrafficType.ALL,
    });
    return vpc;
  }
}
