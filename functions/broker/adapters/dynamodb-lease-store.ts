import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { BrokerErrorCode } from "../../../shared/contracts.ts";
import type { LeaseAttempt, LeaseFailureMark } from "../core/lease.ts";
import type { LeaseStore } from "../core/ports.ts";

/**
 * Seconds a lease item outlives its lease before DynamoDB TTL may delete it. Correctness never depends on TTL
 * (the condition compares `leaseUntil`); it only clears items left behind by profiles that were removed.
 */
export const LEASE_ITEM_TTL_GRACE_S = 86_400;

/**
 * Lease items `{profile, owner, leaseUntil, failureCode?, expiresAtEpoch}` (partition key `profile`). Acquire is a
 * conditional put (`attribute_not_exists(profile) OR leaseUntil < :now`); the losing attempt reads the
 * holder's item from the failed condition (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
 */
export class DynamoDbLeaseStore implements LeaseStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async tryAcquire(
    profile: string,
    owner: string,
    nowMs: number,
    leaseUntilMs: number,
  ): Promise<LeaseAttempt> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: leaseItem(profile, owner, leaseUntilMs),
          ConditionExpression: "attribute_not_exists(#profile) OR #leaseUntil < :now",
          ExpressionAttributeNames: { "#profile": "profile", "#leaseUntil": "leaseUntil" },
          ExpressionAttributeValues: { ":now": { N: String(nowMs) } },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { acquired: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return heldLease(error.Item, nowMs);
    }
  }

  async release(profile: string, owner: string, failure?: LeaseFailureMark): Promise<void> {
    const condition = {
      ConditionExpression: "#owner = :owner",
      ExpressionAttributeNames: { "#owner": "owner" },
      ExpressionAttributeValues: { ":owner": { S: owner } },
    };
    try {
      if (failure) {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: leaseItem(profile, owner, failure.untilMs, failure.code),
            ...condition,
          }),
        );
      } else {
        await this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: { profile: { S: profile } },
            ...condition,
          }),
        );
      }
    } catch (error) {
      // The lease ran out and someone else holds it now: theirs to release.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

function leaseItem(
  profile: string,
  owner: string,
  untilMs: number,
  failureCode?: string,
): Record<string, AttributeValue> {
  return {
    profile: { S: profile },
    owner: { S: owner },
    leaseUntil: { N: String(untilMs) },
    ...(failureCode ? { failureCode: { S: failureCode } } : {}),
    expiresAtEpoch: { N: String(Math.ceil(untilMs / 1000) + LEASE_ITEM_TTL_GRACE_S) },
  };
}

function heldLease(item: Record<string, AttributeValue> | undefined, nowMs: number): LeaseAttempt {
  const until = Number(item?.leaseUntil?.N);
  // Without the old item (an emulator that does not return it) assume a full lease is running.
  const heldUntilMs = Number.isFinite(until) ? until : nowMs;
  const code = item?.failureCode?.S;
  if (code)
    return { acquired: false, heldUntilMs, failure: { code: code as BrokerErrorCode, untilMs: heldUntilMs } };
  return { acquired: false, heldUntilMs };
}
