import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoDbAuditSink } from "../../functions/broker/adapters/dynamodb-audit-sink.ts";
import {
  DynamoDbLeaseStore,
  LEASE_ITEM_TTL_GRACE_S,
} from "../../functions/broker/adapters/dynamodb-lease-store.ts";
import { SecretsManagerCredentials } from "../../functions/broker/adapters/secrets-manager-credentials.ts";
import { SecretsManagerTokenStore } from "../../functions/broker/adapters/secrets-manager-token-store.ts";
import { TokenVersionConflictError } from "../../functions/broker/core/errors.ts";
import { realClock } from "../../functions/broker/core/ports.ts";
import { tokenLane } from "../../functions/broker/core/token-lane.ts";
import type { AuditRecord, BrokerProfile, CachedToken } from "../../shared/contracts.ts";
import { fingerprint } from "../../shared/fingerprint.ts";
import {
  awsClients,
  type BrokerTables,
  createBrokerTables,
  createProfile,
  scanAudit,
} from "./support/aws.ts";

function cachedToken(value: string): CachedToken {
  return {
    accessToken: value,
    issuedAt: "2026-01-01T00:00:00.000Z",
    expiresAt: "2026-01-01T01:00:00.000Z",
    fingerprint: fingerprint(value),
  };
}

describe("AWS adapters against moto", () => {
  const { secretsManager, dynamo } = awsClients();
  let tables: BrokerTables;
  beforeAll(async () => {
    tables = await createBrokerTables(dynamo, "adapters");
  });

  describe("Secrets Manager token store", () => {
    let profile: BrokerProfile;
    beforeAll(async () => {
      profile = await createProfile(secretsManager, {
        loginUrl: "http://127.0.0.1:9",
        clientId: "c",
        clientSecret: "s",
      });
    });

    it("an empty secret or a placeholder value is no token", async () => {
      const unreadable: string[] = [];
      const store = new SecretsManagerTokenStore(secretsManager, (p) => unreadable.push(p));
      await expect(store.getCurrent(tokenLane(profile, 0))).resolves.toBeUndefined();
      const placeholder = await createProfile(secretsManager, {
        loginUrl: "http://127.0.0.1:9",
        clientId: "c",
        clientSecret: "s",
        tokenPlaceholder: "Gen3r4tedP4ssw0rd",
      });
      await expect(store.getCurrent(tokenLane(placeholder, 0))).resolves.toBeUndefined();
      expect(unreadable).toEqual([placeholder.name]);
    });

    it("puts versions idempotently per ClientRequestToken; the previous one stays as AWSPREVIOUS", async () => {
      const store = new SecretsManagerTokenStore(secretsManager);
      const a = cachedToken("token-a");
      const first = await store.putNew(tokenLane(profile, 0), a, "aaaaaaaa-aaaa-5aaa-8aaa-aaaaaaaaaaaa");
      const again = await store.putNew(tokenLane(profile, 0), a, "aaaaaaaa-aaaa-5aaa-8aaa-aaaaaaaaaaaa");
      expect(again.version).toBe(first.version);
      await expect(store.getCurrent(tokenLane(profile, 0))).resolves.toEqual({
        token: a,
        version: first.version,
      });
      const b = cachedToken("token-b");
      const second = await store.putNew(tokenLane(profile, 0), b, "bbbbbbbb-bbbb-5bbb-8bbb-bbbbbbbbbbbb");
      await expect(store.getCurrent(tokenLane(profile, 0))).resolves.toEqual({
        token: b,
        version: second.version,
      });
      const previous = await secretsManager.send(
        new GetSecretValueCommand({ SecretId: profile.tokenSecretArn, VersionStage: "AWSPREVIOUS" }),
      );
      expect(previous.VersionId).toBe(first.version);
    });

    it("a different token under a used ClientRequestToken is a version conflict", async () => {
      const store = new SecretsManagerTokenStore(secretsManager);
      await expect(
        store.putNew(tokenLane(profile, 0), cachedToken("token-c"), "aaaaaaaa-aaaa-5aaa-8aaa-aaaaaaaaaaaa"),
      ).rejects.toBeInstanceOf(TokenVersionConflictError);
    });

    it("reads client credentials and refuses a malformed credentials secret", async () => {
      const credentials = new SecretsManagerCredentials(secretsManager, realClock);
      await expect(credentials.get(profile)).resolves.toEqual({ clientId: "c", clientSecret: "s" });
      const broken = await createProfile(secretsManager, {
        loginUrl: "http://x",
        clientId: "c",
        clientSecret: "s",
      });
      await secretsManager.send(
        new PutSecretValueCommand({ SecretId: broken.credentialsSecretArn, SecretString: "not json" }),
      );
      const error = await credentials.get(broken).catch((e: Error) => e);
      expect(error).toMatchObject({ code: "internal" });
      expect(String(error)).not.toContain("not json");
    });
  });

  describe("DynamoDB lease store", () => {
    it("one owner at a time; the loser sees until when it is held; expired leases are taken over", async () => {
      const leases = new DynamoDbLeaseStore(dynamo, tables.leaseTable);
      expect(await leases.tryAcquire("p1", "a", 1_000, 11_000)).toEqual({ acquired: true });
      expect(await leases.tryAcquire("p1", "b", 5_000, 15_000)).toEqual({
        acquired: false,
        heldUntilMs: 11_000,
      });
      expect(await leases.tryAcquire("p1", "b", 11_001, 21_001)).toEqual({ acquired: true });
      // "a" lost its lease: its late release must not free "b"'s.
      await leases.release("p1", "a");
      expect(await leases.tryAcquire("p1", "c", 12_000, 22_000)).toMatchObject({ acquired: false });
      await leases.release("p1", "b");
      expect(await leases.tryAcquire("p1", "c", 12_000, 22_000)).toEqual({ acquired: true });
    });

    it("a released failure mark keeps others out and tells them why", async () => {
      const leases = new DynamoDbLeaseStore(dynamo, tables.leaseTable);
      expect(await leases.tryAcquire("p2", "a", 0, 10_000)).toEqual({ acquired: true });
      await leases.release("p2", "a", { code: "idp_invalid_client", untilMs: 30_000 });
      expect(await leases.tryAcquire("p2", "b", 1_000, 11_000)).toEqual({
        acquired: false,
        heldUntilMs: 30_000,
        failure: { code: "idp_invalid_client", untilMs: 30_000 },
      });
      const item = await dynamo.send(
        new GetItemCommand({ TableName: tables.leaseTable, Key: { profile: { S: "p2" } } }),
      );
      expect(item.Item?.failureCode?.S).toBe("idp_invalid_client");
      // TTL (epoch seconds) lies a grace period past the mark, so DynamoDB never deletes a live item.
      expect(item.Item?.expiresAtEpoch?.N).toBe(String(30 + LEASE_ITEM_TTL_GRACE_S));
    });

    it("every acquired lease item carries a TTL in epoch seconds past its leaseUntil", async () => {
      const leases = new DynamoDbLeaseStore(dynamo, tables.leaseTable);
      expect(await leases.tryAcquire("p3", "a", 1_000, 10_500)).toEqual({ acquired: true });
      const item = await dynamo.send(
        new GetItemCommand({ TableName: tables.leaseTable, Key: { profile: { S: "p3" } } }),
      );
      expect(item.Item?.expiresAtEpoch?.N).toBe(String(11 + LEASE_ITEM_TTL_GRACE_S));
    });
  });

  describe("DynamoDB audit sink", () => {
    it("appends items and never overwrites an existing one", async () => {
      const duplicates: string[] = [];
      const sink = new DynamoDbAuditSink(dynamo, tables.auditTable, (r) => duplicates.push(r.sk));
      const record: AuditRecord = {
        pk: "profile#x",
        sk: "2026-01-01T00:00:00.000Z#r1#1",
        time: "2026-01-01T00:00:00.000Z",
        action: "handout",
        outcome: "success",
        profile: "x",
        requestId: "r1",
        fingerprint: "0123456789ab",
        expiresAtEpoch: 1_800_000_000,
      };
      await sink.write(record);
      await sink.write({ ...record, outcome: "error", detail: "tampered" });
      expect(duplicates).toEqual([record.sk]);
      expect(await scanAudit(dynamo, tables.auditTable)).toEqual([record]);
    });

    it("surfaces other DynamoDB errors", async () => {
      const sink = new DynamoDbAuditSink(dynamo, "no-such-table-here");
      await expect(
        sink.write({
          pk: "p",
          sk: "s",
          time: "t",
          action: "mint",
          outcome: "success",
          profile: "p",
          requestId: "r",
        }),
      ).rejects.toThrow();
    });
  });

  it("the lease condition is evaluated by DynamoDB, not by the client", async () => {
    // A lease item written by another instance: the conditional put must fail for a live lease.
    await dynamo.send(
      new PutItemCommand({
        TableName: tables.leaseTable,
        Item: { profile: { S: "p3" }, owner: { S: "elsewhere" }, leaseUntil: { N: "9999999999999" } },
      }),
    );
    const leases = new DynamoDbLeaseStore(dynamo, tables.leaseTable);
    expect(await leases.tryAcquire("p3", "me", Date.now(), Date.now() + 1000)).toEqual({
      acquired: false,
      heldUntilMs: 9_999_999_999_999,
    });
  });
});
