import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadLetterRecords, type LocalEmulators, startEmulators } from "../../../tools/local/emulators.ts";

let emulators: LocalEmulators;

beforeAll(async () => {
  emulators = await startEmulators();
});

afterAll(async () => {
  await emulators?.stop();
});

describe("local emulators", () => {
  it("serve a FIFO queue on loopback that takes and returns messages", async () => {
    expect(emulators.sqsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { Attributes } = await emulators.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: emulators.queueUrl, AttributeNames: ["FifoQueue"] }),
    );
    expect(Attributes?.FifoQueue).toBe("true");
    await emulators.sqs.send(
      new SendMessageCommand({
        QueueUrl: emulators.queueUrl,
        MessageBody: "hello",
        MessageGroupId: "t",
        MessageDeduplicationId: "d1",
      }),
    );
    const received = await emulators.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: emulators.queueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(received.Messages?.map((m) => m.Body)).toEqual(["hello"]);
  });

  it("serve the worker's standard dead-letter queue, read back in place as records", async () => {
    const { Attributes } = await emulators.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: emulators.deadLetterQueueUrl, AttributeNames: ["All"] }),
    );
    expect(Attributes?.FifoQueue).toBeUndefined();
    expect(deadLetterRecords(emulators)).toEqual([]);
    const record = { kind: "dead-letter", reason: "event_too_large", topicName: "t", correlationId: "c" };
    await emulators.sqs.send(
      new SendMessageCommand({ QueueUrl: emulators.deadLetterQueueUrl, MessageBody: JSON.stringify(record) }),
    );
    expect(deadLetterRecords(emulators)).toEqual([record]);
  });

  it("have the broker's lease and audit tables with the documented keys", async () => {
    expect(emulators.dynamoEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const lease = await emulators.dynamo.send(new DescribeTableCommand({ TableName: emulators.leaseTable }));
    expect(lease.Table?.KeySchema).toEqual([{ AttributeName: "profile", KeyType: "HASH" }]);
    const audit = await emulators.dynamo.send(new DescribeTableCommand({ TableName: emulators.auditTable }));
    expect(audit.Table?.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(audit.Table?.TableStatus).toBe("ACTIVE");
  });
});
