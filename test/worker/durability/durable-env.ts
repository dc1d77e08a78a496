/**
 * Durable backlog (S3) and coverage ledger (DynamoDB) on the shared moto server, one bucket, table and
 * scope per test, plus readers for what they hold.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { inject } from "vitest";
import { createCoverageTable } from "../../../tools/local/dynamodb-tables.ts";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };

export interface DurableResources {
  endpoint: string;
  bucket: string;
  table: string;
  scope: string;
  s3: S3Client;
  dynamodb: DynamoDBClient;
  /** Environment for a worker process using them. */
  env: Record<string, string>;
  /** Keys of the backlog objects stored now. */
  storedKeys(): Promise<string[]>;
  destroy(): void;
}

export async function createDurableResources(): Promise<DurableResources> {
  const endpoint = inject("motoEndpoint");
  const id = randomUUID().slice(0, 8);
  const bucket = `backlog-${id}`;
  const table = `coverage-${id}`;
  const scope = `scope-${id}`;
  const s3 = new S3Client({ endpoint, region: "us-east-1", credentials, forcePathStyle: true });
  const dynamodb = new DynamoDBClient({ endpoint, region: "us-east-1", credentials });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await createCoverageTable(dynamodb, table);
  return {
    endpoint,
    bucket,
    table,
    scope,
    s3,
    dynamodb,
    env: {
      BACKLOG_BUCKET: bucket,
      COVERAGE_TABLE: table,
      COVERAGE_SCOPE: scope,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    },
    async storedKeys() {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (res.Contents ?? []).map((o) => o.Key ?? "");
    },
    destroy() {
      s3.destroy();
      dynamodb.destroy();
    },
  };
}
