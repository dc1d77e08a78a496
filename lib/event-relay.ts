import { Duration, RemovalPolicy, Size, Stack } from "aws-cdk-lib";
import type { Metric, MetricOptions } from "aws-cdk-lib/aws-cloudwatch";
import {
  FlowLogDestination,
  FlowLogTrafficType,
  type IVpc,
  SecurityGroup,
  SubnetType,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import {
  AwsLogDriverMode,
  Capability,
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LinuxParameters,
  LogDrivers,
  OperatingSystemFamily,
} from "aws-cdk-lib/aws-ecs";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { SourceKind } from "./config.ts";
import { METRICS_NAMESPACE, WORKER_SERVICE_NAME, type WorkerMetricName, workerMetric } from "./metrics.ts";
import { acknowledge, nagRef } from "./nag.ts";
import { REPO_ROOT } from "./paths.ts";
import type { TokenBroker } from "./token-broker.ts";

/** SQS MaximumMessageSize of the event queue and its DLQ: 1 MiB, the SQS maximum since 2025. */
export const QUEUE_MAX_MESSAGE_BYTES = 1_048_576;

export const HEALTH_PORT = 8080;
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
 * `/healthz` reports at least one live session, whatever the sink's state.
 * - Deployments stay make-before-break: a new task is healthy only once a session is live, so ECS stops
 *   the old task only then.
 * - An SQS outage alone never gets a task replaced: its spool (on task storage) would be lost, and a new
 *   task could not reach SQS either. `/healthz` is 503 then, but still reports liveSessions.
 */
export const HEALTH_CHECK_COMMAND = [
  "CMD",
  "node",
  "-e",
  `fetch('http://127.0.0.1:${HEALTH_PORT}/healthz').then(r=>r.json()).then(s=>process.exit(s.liveSessions>=1?0:1),()=>process.exit(1))`,
];

export interface EventRelayProps {
  /** The broker the worker gets its tokens from; the task role may invoke its Function URL only. */
  readonly broker: TokenBroker;
  /** Broker profile whose token the worker uses (`TOKEN_PROFILE`). */
  readonly tokenProfile: string;
  /** Notification topics to subscribe. */
  readonly topics: readonly string[];
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
   * Sessions each worker keeps live at once.
   * @default 2
   */
  readonly redundancy?: number;
  /**
   * Number of worker tasks. Each runs `redundancy` sessions; duplicates across tasks are removed by the
   * FIFO queue's de-duplication id.
   * @default 1
   */
  readonly desiredCount?: number;
  /**
   * An existing VPC with private subnets that reach the internet (NAT). Its subnets of type
   * PRIVATE_WITH_EGRESS host the tasks.
   * @default - a new VPC over 2 AZs: public subnets with NAT gateways, private subnets for the tasks, flow logs
   */
  readonly vpc?: IVpc;
  /**
   * NAT gateways of the VPC created when `vpc` is not given (one per AZ keeps egress when an AZ fails).
   * @default 2
   */
  readonly natGateways?: number;
  /**
   * Task CPU units.
   * @default 512
   */
  readonly cpu?: number;
  /**
   * Task memory (MiB).
   * @default 1024
   */
  readonly memoryLimitMiB?: number;
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
   * Worker log retention (also the VPC flow logs' retention).
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
  readonly deadLetterQueue: Queue;
  /** Events larger than an SQS message, referenced by a pointer message. */
  readonly offloadBucket: Bucket;
  readonly accessLogBucket: Bucket;
  readonly vpc: IVpc;
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
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

    this.key = new Key(this, "Key", {
      description: "tokenstream relay: event queue, dead-letter queue, offload bucket",
      enableKeyRotation: true,
      removalPolicy,
    });

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      fifo: true,
      // As large as the queue's, so every message can be redriven here.
      maxMessageSizeBytes: QUEUE_MAX_MESSAGE_BYTES,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.queue = new Queue(this, "Queue", {
      fifo: true,
      // Set explicitly: the worker sends events up to this size inline (worker/sink SQS_MAX_MESSAGE_BYTES).
      maxMessageSizeBytes: QUEUE_MAX_MESSAGE_BYTES,
      // Per-topic message groups with high-throughput FIFO: groups do not throttle each other.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      retentionPeriod: props.queueRetention ?? Duration.days(4),
      visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(60),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
      removalPolicy,
    });

    this.accessLogBucket = new Bucket(this, "AccessLogBucket", {
      // S3 server access logging delivers only to SSE-S3 buckets.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
    });
    acknowledge(
      this.accessLogBucket,
      "AwsSolutions-S1",
      "S1 (server access logs): this bucket is the server-access-log destination of the offload bucket; logging it into itself would loop and logging it elsewhere only moves the finding.",
    );
    this.offloadBucket = new Bucket(this, "OffloadBucket", {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: "offload/",
      lifecycleRules: [
        {
          expiration: props.offloadRetention ?? Duration.days(14),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });

    this.vpc = props.vpc ?? this.createVpc(props.natGateways ?? 2, logRetention);

    this.cluster = new Cluster(this, "Cluster", {
      vpc: this.vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });

    this.logGroup = new LogGroup(this, "LogGroup", {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.taskDefinition = new FargateTaskDefinition(this, "TaskDefinition", {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
      volumes: [{ name: "spool" }, { name: "tmp" }],
    });

    const environment: Record<string, string> = {
      SOURCE_KIND: sourceKind,
      TOPICS: props.topics.join(","),
      REDUNDANCY: String(props.redundancy ?? 2),
      TOKEN_SOURCE: "broker",
      BROKER_URL: props.broker.url,
      TOKEN_PROFILE: props.tokenProfile,
      QUEUE_URL: this.queue.queueUrl,
      OFFLOAD_BUCKET: this.offloadBucket.bucketName,
      AWS_REGION: stack.region,
      HEALTH_PORT: String(HEALTH_PORT),
      SPOOL_DIR,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT.toMilliseconds()),
      POWERTOOLS_SERVICE_NAME: WORKER_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: "--enable-source-maps",
    };
    if (props.genesysEnv) environment.GENESYS_ENV = props.genesysEnv;
    if (props.genericStreamUrl) environment.GENERIC_STREAM_URL = props.genericStreamUrl;
    if (props.genericTokenIn) environment.GENERIC_TOKEN_IN = props.genericTokenIn;

    const container = this.taskDefinition.addContainer("worker", {
      image: ContainerImage.fromAsset(props.imageDirectory ?? REPO_ROOT, {
        file: "worker/Dockerfile",
        platform: Platform.LINUX_ARM64,
        exclude: IMAGE_CONTEXT_EXCLUDES,
      }),
      essential: true,
      environment,
      readonlyRootFilesystem: props.readonlyRootFilesystem ?? true,
      stopTimeout: STOP_TIMEOUT,
      linuxParameters: this.linuxParameters(),
      healthCheck: {
        command: HEALTH_CHECK_COMMAND,
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      portMappings: [{ containerPort: HEALTH_PORT }],
      logging: LogDrivers.awsLogs({
        streamPrefix: "worker",
        logGroup: this.logGroup,
        mode: AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
    });
    container.addMountPoints(
      { sourceVolume: "spool", containerPath: SPOOL_DIR, readOnly: false },
      { sourceVolume: "tmp", containerPath: "/tmp", readOnly: false },
    );
    acknowledge(
      this.taskDefinition,
      "AwsSolutions-ECS2",
      "ECS2 (environment variables in the task definition): they hold only non-secret settings (topics, queue URL, broker URL, profile name); the worker holds no credentials and fetches its token from the IAM-authenticated broker at run time.",
    );

    const securityGroup = new SecurityGroup(this, "SecurityGroup", {
      vpc: this.vpc,
      description: "tokenstream worker: no inbound traffic; outbound HTTPS to Genesys Cloud and AWS APIs",
      allowAllOutbound: true,
    });

    this.service = new FargateService(this, "Service", {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount ?? 1,
      // Make-before-break deployments: the new task is healthy before the old one is stopped.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      securityGroups: [securityGroup],
      enableExecuteCommand: false,
    });

    this.grantWorkerAccess(props.broker);
  }

  /** A worker metric (namespace tokenstream, dimensions service=tokenstream-worker and sourceKind). */
  metric(name: WorkerMetricName, options?: MetricOptions): Metric {
    return workerMetric(name, this.sourceKind, options);
  }

  /** tini as PID 1 forwards SIGTERM and reaps children; the worker needs no Linux capability at all. */
  private linuxParameters(): LinuxParameters {
    const params = new LinuxParameters(this, "LinuxParameters", { initProcessEnabled: true });
    params.dropCapabilities(Capability.ALL);
    return params;
  }

  private grantWorkerAccess(broker: TokenBroker): void {
    const taskRole = this.taskDefinition.taskRole;
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
        sid: "OffloadLargeEvents",
        actions: ["s3:PutObject"],
        resources: [this.offloadBucket.arnForObjects("*")],
      }),
    );
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "RelayKey",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [this.key.keyArn],
      }),
    );
    const policy = this.taskDefinition.node.tryFindChild("TaskRole")?.node.tryFindChild("DefaultPolicy");
    if (policy) {
      acknowledge(
        policy,
        `AwsSolutions-IAM5[Resource::${nagRef(this, this.offloadBucket.bucketArn)}/*]`,
        "IAM5 (wildcard resource): the worker writes one object per oversized event under a key it derives from the event; s3:PutObject is limited to objects of this one bucket, no read, list or delete.",
      );
    }
    const executionPolicy = this.taskDefinition.executionRole?.node.tryFindChild("DefaultPolicy");
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
      subnetConfiguration: [
        { name: "public", subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: "workers", subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
    });
    const flowLogGroup = new LogGroup(this, "FlowLogGroup", {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    vpc.addFlowLog("FlowLog", {
      destination: FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: FlowLogTrafficType.ALL,
    });
    return vpc;
  }
}
