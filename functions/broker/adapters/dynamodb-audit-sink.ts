import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { AuditRecord } from "../../../shared/contracts.ts";
import type { AuditSink } from "../core/ports.ts";

/**
 * Append-only audit items: PutItem with `attribute_not_exists(pk)`, so nothing is ever overwritten.
 * An item that already exists under the same key is the same event written twice (a retried call):
 * it is left as it is.
 */
export class DynamoDbAuditSink implements AuditSink {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly onDuplicate: (record: AuditRecord) => void = () => {},
  ) {}

  async write(record: AuditRecord): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(record),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      this.onDuplicate(record);
    }
  }
}

function toItem(record: AuditRecord): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === "string") item[key] = { S: value };
    else if (typeof value === "number") item[key] = { N: String(value) };
  }
  return item;
}
