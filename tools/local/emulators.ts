import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import type { DeadLetterRecord } from "../../shared/contracts.ts";
import { type DynaliteServer, startDynalite } from "./dynalite-server.ts";
import { createAuditTable, createLeaseTable } from "./dynamodb-tables.ts";

/** Static credentials for the emulators: they check nothing, but the SDK signs every request. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;
export const LOCAL_REGION = "us-east-1";

export interface EmulatorNames {
  queueName: string;
  /** The worker's dead-letter queue (standard): records of messages it could not queue. */
  deadLetterQueueName: string;
  bucketName: string;
  leaseTable: string;
  auditTable: string;
}

export const DEFAULT_NAMES: EmulatorNames = {
  queueName: "tokenstream-events.fifo",
  deadLetterQueueName: "tokenstream-dead-letter",
  bucketName: "tokenstream-offload",
  leaseTable: "tokenstream-lease",
  auditTable: "tokenstream-audit",
};

export interface LocalEmulators extends EmulatorNames {
  /** SQS + S3 endpoint (fauxqs). */
  sqsEndpoint: string;
  /** DynamoDB endpoint (dynalite). */
  dynamoEndpoint: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  fauxqs: FauxqsServer;
  sqs: SQSClient;
  dynamo: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * fauxqs (SQS + S3) and dynalite (DynamoDB) in this process on 127.0.0.1, ports chosen by the OS, with the
 * FIFO event queue, the worker's dead-letter queue, the offload bucket and the broker's lease and audit tables created.
 */
export async function startEmulators(names: Partial<EmulatorNames> = {}): Promise<LocalEmulators> {
  const resolved = { ...DEFAULT_NAMES, ...names };
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  let dynalite: DynaliteServer | undefined;
  try {
    dynalite = await startDynalite();
    const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const sqs = new SQSClient({ ...clientConfig, endpoint: fauxqs.address });
    const dynamo = new DynamoDBClient({ ...clientConfig, endpoint: dynalite.endpoint });
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: resolved.queueName,
        Attributes: { FifoQueue: "true", ContentBasedDeduplication: "false", VisibilityTimeout: "30" },
      }),
    );
    const deadLetter = await sqs.send(new CreateQueueCommand({ QueueName: resolved.deadLetterQueueName }));
    fauxqs.createBucket(resolved.bucketName);
    await createLeaseTable(dynamo, resolved.leaseTable);
    await createAuditTable(dynamo, resolved.auditTable);
    const dynaliteServer = dynalite;
    return {
      ...resolved,
      sqsEndpoint: fauxqs.address,
      dynamoEndpoint: dynaliteServer.endpoint,
      queueUrl: QueueUrl as string,
      deadLetterQueueUrl: deadLetter.QueueUrl as string,
      fauxqs,
      sqs,
      dynamo,
      async stop() {
        sqs.destroy();
        dynamo.destroy();
        await Promise.allSettled([fauxqs.stop(), dynaliteServer.stop()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([fauxqs.stop(), dynalite?.stop()]);
    throw error;
  }
}

/** The worker's dead-letter records (read in place, not consumed). */
export function deadLetterRecords(emulators: LocalEmulators): DeadLetterRecord[] {
  const queue = emulators.fauxqs.inspectQueue(emulators.deadLetterQueueName);
  if (!queue) return [];
  return [
    ...queue.messages.ready,
    ...queue.messages.delayed,
    ...queue.messages.inflight.map((i) => i.message),
  ].map((m) => JSON.parse(m.body) as DeadLetterRecord);
}

/** Messages in the event queue (ready, delayed or in flight). */
export function queueDepth(emulators: LocalEmulators): number {
  const queue = emulators.fauxqs.inspectQueue(emulators.queueName);
  if (!queue) return 0;
  return queue.messages.ready.length + queue.messages.delayed.length + queue.messages.inflight.length;
}
