import { join } from "node:path";
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Architecture, EventSourceMapping, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectLockRetention,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { acknowledge, nagRef } from "./nag.ts";
import { BROKER_BUNDLE_TARGET, BROKER_RUNTIME } from "./node-runtime.ts";
import { REPO_ROOT } from "./paths.ts";

export interface AuditArchiveProps {
  /** The audit table, with a NEW_AND_OLD_IMAGES stream. */
  readonly table: ITable;
  /** The audit table's key: it also encrypts the stream, the archive bucket and the dead-letter queue. */
  readonly key: IKey;
  /** Object Lock (compliance mode) retention of every archived change. */
  readonly retentionDays: number;
  readonly logRetention: RetentionDays;
}

/**
 * The immutable copy of the audit trail: every change of the audit table (its stream) is written by a small
 * function to an S3 bucket with Object Lock in compliance mode, so for `retentionDays` nobody, the account root
 * included, can delete or overwrite what was recorded, even someone who could rewrite the table.
 */
export class AuditArchive extends Construct {
  readonly bucket: Bucket;
  readonly function: NodejsFunction;
  /** Stream batches the function could not archive after its retries. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: AuditArchiveProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.bucket = new Bucket(this, "Bucket", {
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      versioned: true,
      encryption: BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.bucket,
      "AwsSolutions-S1",
      "S1 (server access logs): the archive is written only by the archive function and Object Lock (compliance) makes every object undeletable for the retention period; reads of it are auditable with CloudTrail S3 data events, which docs/security.md recommends for this bucket.",
    );

    // It holds only stream coordinates (shard, sequence numbers), never audit data: SQS-managed encryption keeps
    // the function's KMS permissions to the conditioned statement below.
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.deadLetterQueue,
      "AwsSolutions-SQS3",
      "SQS3 (queue has a DLQ): this queue is itself the on-failure destination of the archive's stream mapping; an alarm fires as soon as it holds a message.",
    );

    const logGroup = new LogGroup(this, "LogGroup", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.function = new NodejsFunction(this, "Function", {
      entry: join(REPO_ROOT, "functions/audit-archive/handler.ts"),
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      runtime: BROKER_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(60),
      logGroup,
      description: "tokenstream audit archive: audit table stream to the Object Lock bucket",
      environment: { ARCHIVE_BUCKET: this.bucket.bucketName },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: BROKER_BUNDLE_TARGET,
        minify: true,
        bundleAwsSDK: true,
        mainFields: ["module", "main"],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) throw new Error("AuditArchive: the audit table needs a stream");
    new EventSourceMapping(this, "StreamMapping", {
      target: this.function,
      eventSourceArn: streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: 20,
      // The stream keeps 24 hours: a record older than that is gone anyway; the DLQ names what was missed.
      maxRecordAge: Duration.hours(23),
      onFailure: new SqsDlq(this.deadLetterQueue),
    });
    // What the event source mapping calls (table.grantStreamRead would add an unconditioned kms:Decrypt).
    this.function.addToRolePolicy(
      new PolicyStatement({
        sid: "ReadAuditStream",
        actions: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
        resources: [streamArn],
      }),
    );
    this.function.addToRolePolicy(
      new PolicyStatement({ sid: "ListStreams", actions: ["dynamodb:ListStreams"], resources: ["*"] }),
    );
    const archived = `${this.bucket.bucketArn}/audit/*`;
    this.function.addToRolePolicy(
      new PolicyStatement({ sid: "ArchiveAuditChanges", actions: ["s3:PutObject"], resources: [archived] }),
    );
    this.function.addToRolePolicy(
      new PolicyStatement({
        sid: "AuditKeyViaServices",
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: [props.key.keyArn],
        conditions: {
          StringEquals: {
            "kms:ViaService": ["dynamodb", "s3", "sqs"].map((s) => `${s}.${stack.region}.${stack.urlSuffix}`),
          },
        },
      }),
    );
    const policy = this.function.role!.node.findChild("DefaultPolicy");
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::${nagRef(this, this.bucket.bucketArn)}/audit/*]`,
      "IAM5 (wildcard resource): the archive function writes one object per audit-table change under audit/ in this one bucket; s3:PutObject only, no read, list or delete (Object Lock forbids deletion anyway).",
    );
    acknowledge(
      policy,
      "AwsSolutions-IAM5[Resource::*]",
      "IAM5 (wildcard resource): dynamodb:ListStreams, which the Lambda event source mapping needs, has no resource-level permissions; reading records is limited to the audit table's stream.",
    );
    acknowledge(
      this.function.role!,
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      "IAM4 (AWS managed policy): AWSLambdaBasicExecutionRole only lets the archive function write its own CloudWatch Logs.",
    );
  }
}
