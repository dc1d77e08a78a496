/**
 * Where the relay's messages live: the KMS key, the FIFO event queue and its redrive dead-letter queue, the
 * worker's dead-letter queue (records of messages it could deliver neither inline nor to S3), and the offload
 * bucket with its access-log bucket. Created directly in the EventRelay's scope, so their construct paths
 * (and logical ids) are those of the relay itself.
 */
import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import { Key } from "aws-cdk-lib/aws-kms";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { acknowledge } from "./nag.ts";

/** SQS MaximumMessageSize of the relay's queues: 1 MiB, the SQS maximum since 2025. */
export const QUEUE_MAX_MESSAGE_BYTES = 1_048_576;
/** How long a worker dead-letter record is kept (the SQS maximum): time for an operator to back-fill. */
export const WORKER_DEAD_LETTER_RETENTION = Duration.days(14);

export interface RelayStorageOptions {
  removalPolicy: RemovalPolicy;
  highThroughput: boolean;
  queueRetention: Duration;
  visibilityTimeout: Duration;
  maxReceiveCount: number;
  offloadRetention: Duration;
}

export interface RelayStorage {
  key: Key;
  queue: Queue;
  deadLetterQueue: Queue;
  workerDeadLetterQueue: Queue;
  offloadBucket: Bucket;
  accessLogBucket: Bucket;
}

export function createRelayStorage(scope: Construct, o: RelayStorageOptions): RelayStorage {
  const { removalPolicy } = o;
  const key = new Key(scope, "Key", {
    description: "tokenstream relay: event queue, dead-letter queues, offload bucket",
    enableKeyRotation: true,
    removalPolicy,
  });

  const deadLetterQueue = new Queue(scope, "DeadLetterQueue", {
    fifo: true,
    // As large as the queue's, so every message can be redriven here.
    maxMessageSizeBytes: QUEUE_MAX_MESSAGE_BYTES,
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy,
  });
  const queue = new Queue(scope, "Queue", {
    fifo: true,
    // Set explicitly: the worker sends events up to this size inline (worker/sink SQS_MAX_MESSAGE_BYTES).
    maxMessageSizeBytes: QUEUE_MAX_MESSAGE_BYTES,
    // Per-topic message groups with high-throughput FIFO: groups do not throttle each other.
    ...(o.highThroughput
      ? {
          deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
          fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        }
      : {
          deduplicationScope: DeduplicationScope.QUEUE,
          fifoThroughputLimit: FifoThroughputLimit.PER_QUEUE,
        }),
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    dataKeyReuse: Duration.minutes(5),
    enforceSSL: true,
    retentionPeriod: o.queueRetention,
    visibilityTimeout: o.visibilityTimeout,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: o.maxReceiveCount },
    removalPolicy,
  });

  // A standard queue: records carry no message group, and a record must never wait behind another.
  const workerDeadLetterQueue = new Queue(scope, "WorkerDeadLetterQueue", {
    maxMessageSizeBytes: QUEUE_MAX_MESSAGE_BYTES,
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: WORKER_DEAD_LETTER_RETENTION,
    removalPolicy,
  });
  acknowledge(
    workerDeadLetterQueue,
    "AwsSolutions-SQS3",
    "SQS3 (queue has a DLQ): this queue is itself a dead-letter destination (the worker's records of messages it could not queue); an alarm fires as soon as it holds a record, and an operator reads it rather than a consumer.",
  );

  const accessLogBucket = new Bucket(scope, "AccessLogBucket", {
    // S3 server access logging delivers only to SSE-S3 buckets.
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(365) }],
    removalPolicy,
  });
  acknowledge(
    accessLogBucket,
    "AwsSolutions-S1",
    "S1 (server access logs): this bucket is the server-access-log destination of the offload bucket; logging it into itself would loop and logging it elsewhere only moves the finding.",
  );
  const offloadBucket = new Bucket(scope, "OffloadBucket", {
    encryption: BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: accessLogBucket,
    serverAccessLogsPrefix: "offload/",
    lifecycleRules: [
      {
        expiration: o.offloadRetention,
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
    removalPolicy,
  });
  return { key, queue, deadLetterQueue, workerDeadLetterQueue, offloadBucket, accessLogBucket };
}
