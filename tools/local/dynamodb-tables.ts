import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** The broker's lease table: one item per profile, key `profile`. */
export async function createLeaseTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "profile", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "profile", KeyType: "HASH" }],
    }),
  );
}

/** The broker's audit table: `pk` = `profile#<name>`, `sk` = `<ISO time>#<requestId>#<n>` (AuditRecord). */
export async function createAuditTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
    }),
  );
}
