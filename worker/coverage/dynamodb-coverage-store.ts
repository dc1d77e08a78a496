/**
 * The coverage ledger in DynamoDB: partition key `pk` = the coverage scope, sort key `sk`:
 * `task#<taskId>`, `stretch#<taskId>#<sinceMs>`, `gap#<startMs>`, `adopt#<ownerTaskId>`. Every item carries
 * `expiresAtEpoch` (the table's TTL attribute) = last write + `retentionMs`. Claims are conditional puts.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { CoverageSnapshot, CoverageStore, StretchRecord, TaskRecord } from "./coverage-records.ts";

export interface DynamoDbCoverageStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  scope: string;
  /** Items live this long after their last write (TTL). */
  retentionMs: number;
  /**
   * Each request is abandoned after this long: a call hung on a half-open connection would otherwise stall
   * the heartbeat, gap derivation and backlog adoption for good. @default 10000
   */
  requestTimeoutMs?: number;
  now?: () => number;
}

const pad = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(15, "0");

export class DynamoDbCoverageStore implements CoverageStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #now: () => number;

  constructor(private readonly o: DynamoDbCoverageStoreOptions) {
    this.#doc = DynamoDBDocumentClient.from(o.client, { marshallOptions: { removeUndefinedValues: true } });
    this.#now = o.now ?? Date.now;
  }

  async putTask(t: TaskRecord): Promise<void> {
    await this.#put({ sk: `task#${t.taskId}`, type: "task", ...t });
  }

  async putStretch(s: StretchRecord): Promise<void> {
    await this.#put({ sk: `stretch#${s.taskId}#${pad(s.sinceMs)}`, type: "stretch", ...s });
  }

  async snapshot(): Promise<CoverageSnapshot> {
    const tasks = (await this.#query("task#")).map(
      (i): TaskRecord => ({
        taskId: String(i.taskId),
        startedAtMs: Number(i.startedAtMs),
        heartbeatAtMs: Number(i.heartbeatAtMs),
        ...(i.stoppedAtMs !== undefined ? { stoppedAtMs: Number(i.stoppedAtMs) } : {}),
      }),
    );
    const stretches = (await this.#query("stretch#")).map(
      (i): StretchRecord => ({
        taskId: String(i.taskId),
        sinceMs: Number(i.sinceMs),
        liveAtMs: Number(i.liveAtMs),
        ended: i.ended === true,
      }),
    );
    return { tasks, stretches };
  }

  async claimGap(startMs: number, endMs: number, claimant: string): Promise<boolean> {
    return this.#conditional(
      new PutCommand({
        TableName: this.o.tableName,
        Item: this.#item({ sk: `gap#${pad(startMs)}`, type: "gap", startMs, endMs, claimant }),
        ConditionExpression: "attribute_not_exists(sk)",
      }),
    );
  }

  async claimAdoption(owner: string, claimant: string, nowMs: number, leaseMs: number): Promise<boolean> {
    return this.#conditional(
      new PutCommand({
        TableName: this.o.tableName,
        Item: this.#item({
          sk: `adopt#${owner}`,
          type: "adoption",
          owner,
          claimant,
          leaseUntilMs: nowMs + leaseMs,
          finished: false,
        }),
        ConditionExpression:
          "attribute_not_exists(sk) OR (finished = :no AND (claimant = :me OR leaseUntilMs < :now))",
        ExpressionAttributeValues: { ":no": false, ":me": claimant, ":now": nowMs },
      }),
    );
  }

  async finishAdoption(owner: string, claimant: string): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.o.tableName,
        Key: { pk: this.o.scope, sk: `adopt#${owner}` },
        UpdateExpression: "SET finished = :yes",
        ConditionExpression: "claimant = :me",
        ExpressionAttributeValues: { ":yes": true, ":me": claimant },
      }),
      this.#timeout(),
    );
  }

  #item(fields: Record<string, unknown>): Record<string, unknown> {
    return {
      pk: this.o.scope,
      ...fields,
      expiresAtEpoch: Math.floor((this.#now() + this.o.retentionMs) / 1000),
    };
  }

  async #put(fields: Record<string, unknown>): Promise<void> {
    await this.#doc.send(
      new PutCommand({ TableName: this.o.tableName, Item: this.#item(fields) }),
      this.#timeout(),
    );
  }

  async #conditional(command: PutCommand): Promise<boolean> {
    try {
      await this.#doc.send(command, this.#timeout());
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      if ((err as { name?: string }).name === "ConditionalCheckFailedException") return false;
      throw err;
    }
  }

  async #query(prefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.#doc.send(
        new QueryCommand({
          TableName: this.o.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": this.o.scope, ":prefix": prefix },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
        this.#timeout(),
      );
      items.push(...((res.Items ?? []) as Record<string, unknown>[]));
      start = res.LastEvaluatedKey as Record<string, unknown> | undefined;
    } while (start);
    return items;
  }

  #timeout(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 10_000) };
  }
}
