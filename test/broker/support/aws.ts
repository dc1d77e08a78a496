import {
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { inject } from "vitest";
import type { AuditRecord, BrokerProfile } from "../../../shared/contracts.ts";
import { laneTokenSecretName } from "../../../shared/token-lanes.ts";

const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export function motoEndpoint(): string {
  const endpoint = inject("motoEndpoint");
  if (!endpoint) {
    throw new Error(
      "motoEndpoint not provided: run with --globalSetup test/setup/moto.ts (see test/setup/moto.ts)",
    );
  }
  return endpoint;
}

/** Fresh SDK clients against moto (each broker instance gets its own, like separate Lambda containers). */
export function awsClients(endpoint = motoEndpoint()) {
  const config = { endpoint, region: "us-east-1", credentials: CREDENTIALS, maxAttempts: 2 };
  return { secretsManager: new SecretsManagerClient(config), dynamo: new DynamoDBClient(config) };
}

let unique = 0;
/** Names that cannot collide across test files running in parallel against one moto server. */
export function uniqueName(prefix: string): string {
  unique++;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${unique}`;
}

export interface BrokerTables {
  auditTable: string;
  leaseTable: string;
}

export async function createBrokerTables(dynamo: DynamoDBClient, prefix: string): Promise<BrokerTables> {
  const auditTable = uniqueName(`${prefix}-audit`);
  const leaseTable = uniqueName(`${prefix}-lease`);
  await dynamo.send(
    new CreateTableCommand({
      TableName: leaseTable,
      KeySchema: [{ AttributeName: "profile", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "profile", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await dynamo.send(
    new CreateTableCommand({
      TableName: auditTable,
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: auditTable,
      TimeToLiveSpecification: { AttributeName: "expiresAtEpoch", Enabled: true },
    }),
  );
  return { auditTable, leaseTable };
}

/** The TOKEN_SECRET_NAME_PREFIX test brokers use; lane secrets of every test profile live under it. */
export const LANE_SECRET_PREFIX = "tokenstream-test/lanes";

/**
 * A profile with its secrets: the operator's credentials secret and the broker's (empty) token cache
 * secrets, one per lane, as the stack creates them (lane 0 by ARN, lane n named from LANE_SECRET_PREFIX).
 * One lane unless `lanes` says otherwise (most broker tests are about one lane's behaviour).
 */
export async function createProfile(
  secretsManager: SecretsManagerClient,
  options: {
    name?: string;
    loginUrl: string;
    clientId: string;
    clientSecret: string;
    tokenPlaceholder?: string;
    lanes?: number;
  },
): Promise<BrokerProfile> {
  const name = options.name ?? uniqueName("p");
  const credentials = await secretsManager.send(
    new CreateSecretCommand({
      Name: uniqueName(`${name}-credentials`),
      SecretString: JSON.stringify({ clientId: options.clientId, clientSecret: options.clientSecret }),
    }),
  );
  const token = await secretsManager.send(
    new CreateSecretCommand({
      Name: uniqueName(`${name}-token`),
      ...(options.tokenPlaceholder ? { SecretString: options.tokenPlaceholder } : {}),
    }),
  );
  const lanes = options.lanes ?? 1;
  for (let lane = 1; lane < lanes; lane++) {
    await secretsManager.send(
      new CreateSecretCommand({ Name: laneTokenSecretName(LANE_SECRET_PREFIX, name, lane) }),
    );
  }
  return {
    name,
    loginUrl: options.loginUrl,
    credentialsSecretArn: credentials.ARN!,
    tokenSecretArn: token.ARN!,
    lanes,
  };
}

export async function scanAudit(dynamo: DynamoDBClient, table: string): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  let start: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const record: Record<string, string | number> = {};
      for (const [key, value] of Object.entries(item)) {
        if (value.S !== undefined) record[key] = value.S;
        else if (value.N !== undefined) record[key] = Number(value.N);
      }
      records.push(record as unknown as AuditRecord);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return records.sort((a, b) => a.sk.localeCompare(b.sk));
}

/**
 * A Secrets Manager client against moto that answers `ThrottlingException` (as Secrets Manager does when
 * its request rate is exceeded) for every command `throttle` selects.
 */
export function throttledSecretsManager(
  throttle: (commandName: string, input: { SecretId?: string }) => boolean,
): SecretsManagerClient {
  const client = awsClients().secretsManager;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (throttle(context.commandName ?? "", args.input as { SecretId?: string })) {
        throw Object.assign(new Error("Rate exceeded"), {
          name: "ThrottlingException",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: "initialize", name: "injectThrottling" },
  );
  return client;
}
