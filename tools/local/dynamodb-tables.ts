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
  await createPkSkTable(client, tableName);
}

/** The worker's coverage ledger (worker/coverage): `pk`/`sk` strings, as lib/relay-durability.ts creates it. */
export async function createCoverageTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await createPkSkTable(client, tableName);
}

async function createPkSkTable(client: DynamoDBClient, tableName: string): Promise<void> {
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
