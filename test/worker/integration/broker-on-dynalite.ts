import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type LocalBroker, startLocalBroker } from "../../../functions/broker/local-server.ts";
import type { Simulator } from "../../../sim/index.ts";
import { type DynaliteServer, startDynalite } from "../../../tools/local/dynalite-server.ts";
import { createAuditTable, createLeaseTable } from "../../../tools/local/dynamodb-tables.ts";
import { TEST_CREDENTIALS } from "./harness.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The real broker behind its local HTTP adapter, one profile `main` minting from the simulator, with its
 * lease and audit tables in dynalite. `fetch` lets a test watch the identity-provider traffic.
 */
export async function startBrokerOnDynalite(
  sim: Simulator,
  options: { fetch?: typeof fetch } = {},
): Promise<{ broker: LocalBroker; dynalite: DynaliteServer }> {
  const dynalite = await startDynalite();
  const dynamo = new DynamoDBClient({
    region: "us-east-1",
    endpoint: dynalite.endpoint,
    credentials: TEST_CREDENTIALS,
  });
  await createLeaseTable(dynamo, "lease");
  await createAuditTable(dynamo, "audit");
  const broker = await startLocalBroker({
    profiles: [
      { name: "main", loginUrl: sim.loginUrl, credentialsSecretArn: "unused", tokenSecretArn: "main" },
    ],
    dynamo,
    auditTable: "audit",
    leaseTable: "lease",
    credentials: { main: { clientId: "sim-client", clientSecret: "sim-secret" } },
    log: silent,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return { broker, dynalite };
}
