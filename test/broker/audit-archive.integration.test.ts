import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { archiveObject, UnarchivableRecordError } from "../../functions/audit-archive/archive-object.ts";
import { archiveHandler } from "../../functions/audit-archive/handler.ts";
import { motoEndpoint, uniqueName } from "./support/aws.ts";

const record = (sequence: string, eventName: string, principalId?: string) => ({
  eventID: `e-${sequence}`,
  eventName,
  dynamodb: {
    ApproximateCreationDateTime: 1_764_000_000,
    Keys: { pk: { S: "profile#prod" }, sk: { S: "2026-12-04T10:00:00.000Z#req-1#1" } },
    SequenceNumber: sequence,
    NewImage:
      eventName === "REMOVE" ? undefined : { action: { S: "handout" }, fingerprint: { S: "0123456789ab" } },
    OldImage:
      eventName === "INSERT" ? undefined : { action: { S: "handout" }, fingerprint: { S: "0123456789ab" } },
  },
  ...(principalId ? { userIdentity: { type: "Service", principalId } } : {}),
});

describe("audit archive (stream -> Object Lock bucket)", () => {
  it("names one object per change, keeps the old image of overwrites and removals, and flags TTL removals", () => {
    const inserted = archiveObject(record("100", "INSERT"));
    expect(inserted.key).toBe(
      "audit/profile%23prod/2026-12-04T10%3A00%3A00.000Z%23req-1%231/100-INSERT.json",
    );
    const removed = JSON.parse(archiveObject(record("300", "REMOVE", "dynamodb.amazonaws.com")).body);
    expect(removed).toMatchObject({
      eventName: "REMOVE",
      removedByTtl: true,
      oldImage: { action: { S: "handout" } },
    });
    expect(JSON.parse(archiveObject(record("200", "MODIFY")).body).removedByTtl).toBe(false);
    expect(() => archiveObject({ eventName: "INSERT", dynamodb: { Keys: {} } })).toThrow(
      UnarchivableRecordError,
    );
  });

  it("writes every record to a compliance-mode Object Lock bucket (moto) and reports the first failure onwards", async () => {
    const s3 = new S3Client({
      endpoint: motoEndpoint(),
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const bucket = uniqueName("archive").toLowerCase();
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: "Enabled",
          Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 400 } },
        },
      }),
    );
    const handle = archiveHandler(s3, bucket);
    const ok = await handle({ Records: [record("100", "INSERT"), record("200", "MODIFY")] });
    expect(ok).toEqual({ batchItemFailures: [] });
    const { key } = archiveObject(record("200", "MODIFY"));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ObjectLockMode).toBe("COMPLIANCE");
    expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThan(Date.now() + 399 * 86_400_000);
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body!.transformToString();
    expect(JSON.parse(body)).toMatchObject({
      eventName: "MODIFY",
      oldImage: { fingerprint: { S: "0123456789ab" } },
    });

    const failed = await archiveHandler(
      s3,
      `${bucket}-missing`,
    )({ Records: [record("300", "INSERT"), record("400", "INSERT")] });
    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: "300" }, { itemIdentifier: "400" }] });
  });
});
