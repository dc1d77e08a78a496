/**
 * The durable tier's stores against an endpoint that accepts connections and never answers (a half-open
 * path): each call fails after its request timeout instead of stalling the heartbeat, gap derivation or
 * adoption scan that awaits it.
 */

import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, it } from "vitest";
import { S3BacklogStore } from "../../../worker/backlog/s3-backlog-store.ts";
import { DynamoDbCoverageStore } from "../../../worker/coverage/dynamodb-coverage-store.ts";

const TIMEOUT_MS = 300;
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function silentEndpoint(): Promise<string> {
  const s = createServer((socket) => {
    sockets.push(socket);
    socket.resume(); // reads the request, never answers
  });
  server = s;
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function elapsedOfFailure(call: () => Promise<unknown>): Promise<number> {
  const at = Date.now();
  await expect(call()).rejects.toThrow();
  return Date.now() - at;
}

describe("durable-tier stores with an endpoint that never answers", () => {
  it("coverage ledger (DynamoDB): reads and writes fail after the request timeout", async () => {
    const endpoint = await silentEndpoint();
    const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
    const store = new DynamoDbCoverageStore({
      client,
      tableName: "coverage",
      scope: "s",
      retentionMs: 60_000,
      requestTimeoutMs: TIMEOUT_MS,
    });
    expect(await elapsedOfFailure(() => store.snapshot())).toBeLessThan(10 * TIMEOUT_MS);
    expect(await elapsedOfFailure(() => store.claimGap(1, 2, "t"))).toBeLessThan(10 * TIMEOUT_MS);
    expect(await elapsedOfFailure(() => store.finishAdoption("o", "t"))).toBeLessThan(10 * TIMEOUT_MS);
    client.destroy();
  });

  it("backlog store (S3): listing fails after the request timeout", async () => {
    const endpoint = await silentEndpoint();
    const s3 = new S3Client({
      endpoint,
      region: "us-east-1",
      credentials,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    const store = new S3BacklogStore({ s3, bucket: "b", prefix: "backlog/s", requestTimeoutMs: TIMEOUT_MS });
    expect(await elapsedOfFailure(() => store.owners())).toBeLessThan(10 * TIMEOUT_MS);
    s3.destroy();
  });
});
