import { Aws, Duration, Size } from "aws-cdk-lib";
import { type ISecurityGroup, SubnetType } from "aws-cdk-lib/aws-ec2";
import {
  AwsLogDriverMode,
  Capability,
  type Cluster,
  type ContainerImage,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LinuxParameters,
  LogDrivers,
  OperatingSystemFamily,
} from "aws-cdk-lib/aws-ecs";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { ILogGroup } from "aws-cdk-lib/aws-logs";
import { Asset } from "aws-cdk-lib/aws-s3-assets";
import type { Construct } from "constructs";
import { workerRuntimeEnvironment } from "../shared/worker-runtime.ts";
import type { ResolvedShard } from "./config-shards.ts";
import { acknowledge } from "./nag.ts";

export interface ShardServiceOptions {
  readonly shard: ResolvedShard;
  readonly cluster: Cluster;
  readonly image: ContainerImage;
  readonly securityGroup: ISecurityGroup;
  readonly logGroup: ILogGroup;
  /** Settings every shard's worker shares (queue, broker URL, region, ...). */
  readonly environment: Readonly<Record<string, string>>;
  readonly readonlyRootFilesystem: boolean;
  readonly spoolDir: string;
  readonly stopTimeout: Duration;
  /** uid:gid the container runs as (the image's non-root user; Security Hub ECS.20). */
  readonly user: string;
  readonly healthCheckCommand: string[];
  /** ECS ignores failed health checks this long after a task starts. */
  readonly healthCheckStartPeriod: Duration;
  readonly healthPort: number;
}

/**
 * One shard's workers: a Fargate task definition (its CPU and memory, its profile and topic set) and a
 * service of `workerCount` tasks. Built directly in `scope`, so the single-shard form keeps the construct
 * paths (and logical ids) it always had. Topic sets from a file travel as an S3 asset, and from S3 as the
 * operator's object; the task role may read that one object and nothing else there.
 */
export class ShardService {
  readonly shard: ResolvedShard;
  readonly taskDefinition: FargateTaskDefinition;
  readonly service: FargateService;
  /** The topic file uploaded for this shard (topicsFile only). */
  readonly topicsAsset: Asset | undefined;

  constructor(scope: Construct, opts: ShardServiceOptions) {
    const { shard } = opts;
    this.shard = shard;
    this.taskDefinition = new FargateTaskDefinition(scope, "TaskDefinition", {
      cpu: shard.cpu,
      memoryLimitMiB: shard.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
      volumes: [{ name: "spool" }, { name: "tmp" }],
    });

    const environment: Record<string, string> = {
      ...opts.environment,
      // NODE_OPTIONS: the heap sized from this shard's task memory (shared/worker-runtime.ts).
      ...workerRuntimeEnvironment(shard.memoryMiB),
      REDUNDANCY: String(shard.redundancy),
      TOKEN_PROFILE: shard.profile,
      SHARD: shard.name,
    };
    const source = shard.topics;
    if (source.kind === "inline") {
      environment.TOPICS = source.topics.join(",");
    } else if (source.kind === "file") {
      this.topicsAsset = new Asset(scope, "Topics", { path: source.path });
      environment.TOPICS_S3_URI = this.topicsAsset.s3ObjectUrl;
      this.grantReadObject(this.topicsAsset.s3BucketName, this.topicsAsset.s3ObjectKey);
    } else {
      environment.TOPICS_S3_URI = `s3://${source.bucket}/${source.key}`;
      environment.TOPICS_MAX = String(source.maxTopics);
      this.grantReadObject(source.bucket, source.key);
    }

    const container = this.taskDefinition.addContainer("worker", {
      image: opts.image,
      essential: true,
      user: opts.user,
      environment,
      readonlyRootFilesystem: opts.readonlyRootFilesystem,
      stopTimeout: opts.stopTimeout,
      linuxParameters: linuxParameters(scope),
      healthCheck: {
        command: opts.healthCheckCommand,
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: opts.healthCheckStartPeriod,
      },
      portMappings: [{ containerPort: opts.healthPort }],
      logging: LogDrivers.awsLogs({
        streamPrefix: shard.name === "default" ? "worker" : `worker-${shard.name}`,
        logGroup: opts.logGroup,
        mode: AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
    });
    container.addMountPoints(
      { sourceVolume: "spool", containerPath: opts.spoolDir, readOnly: false },
      { sourceVolume: "tmp", containerPath: "/tmp", readOnly: false },
    );
    acknowledge(
      this.taskDefinition,
      "AwsSolutions-ECS2",
      "ECS2 (environment variables in the task definition): they hold only non-secret settings (topics or where to read them, queue URL, broker URL, profile name); the worker holds no credentials and fetches its token from the IAM-authenticated broker at run time.",
    );

    this.service = new FargateService(scope, "Service", {
      cluster: opts.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: shard.workerCount,
      // Make-before-break deployments: the new task is healthy before the old one is stopped.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      securityGroups: [opts.securityGroup],
      enableExecuteCommand: false,
    });
  }

  /** s3:GetObject on exactly one object: the shard's topic set. */
  private grantReadObject(bucket: string, key: string): void {
    this.taskDefinition.taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "ReadTopicSet",
        actions: ["s3:GetObject"],
        resources: [`arn:${Aws.PARTITION}:s3:::${bucket}/${key}`],
      }),
    );
  }
}

/** tini as PID 1 forwards SIGTERM and reaps children; the worker needs no Linux capability at all. */
function linuxParameters(scope: Construct): LinuxParameters {
  const params = new LinuxParameters(scope, "LinuxParameters", { initProcessEnabled: true });
  params.dropCapabilities(Capability.ALL);
  return params;
}
