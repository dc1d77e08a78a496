/** What a deployed broker finds in its account: lease and audit tables, a credentials and a token secret. */
import { type DynamoDBClient, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { CreateSecretCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { BrokerProfile } from "../../shared/contracts.ts";
import { createAuditTable, createLeaseTable } from "../../tools/local/dynamodb-tables.ts";

export interface BrokerResources {
  profile: BrokerProfile;
  auditTable: string;
  leaseTable: string;
}

export async function createBrokerResources(
  clients: { dynamo: DynamoDBClient; secretsManager: SecretsManagerClient },
  options: { prefix: string; loginUrl: string; clientId: string; clientSecret: string },
): Promise<BrokerResources> {
  const unique = `${options.prefix}-${process.pid}-${Date.now().toString(36)}`;
  const auditTable = `${unique}-audit`;
  const leaseTable = `${unique}-lease`;
  await createLeaseTable(clients.dynamo, leaseTable);
  await createAuditTable(clients.dynamo, auditTable);
  await clients.dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: auditTable,
      TimeToLiveSpecification: { AttributeName: "expiresAtEpoch", Enabled: true },
    }),
  );
  const credentials = await clients.secretsManager.send(
    new CreateSecretCommand({
      Name: `${unique}-credentials`,
      SecretString: JSON.stringify({ clientId: options.clientId, clientSecret: options.clientSecret }),
    }),
  );
  const token = await clients.secretsManager.send(new CreateSecretCommand({ Name: `${unique}-token` }));
  if (!credentials.ARN || !token.ARN) throw new Error("CreateSecret returned no ARN");
  return {
    profile: {
      name: options.prefix,
      loginUrl: options.loginUrl,
      credentialsSecretArn: credentials.ARN,
      tokenSecretArn: token.ARN,
    },
    auditTable,
    leaseTable,
  };
}
