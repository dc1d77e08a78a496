import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type AuditStreamRecord, archiveObject } from "./archive-object.ts";

export interface ArchiveEvent {
  Records?: AuditStreamRecord[];
}

/** Lambda partial batch response: records after the first failure are retried (the stream keeps order). */
export interface ArchiveResult {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * Copies each audit-table change to the archive bucket, where Object Lock (compliance mode) keeps it for the
 * retention period: not even the account root can delete or overwrite it before then. Objects carry a SHA-256
 * checksum, which Object Lock requires of every write.
 */
export function archiveHandler(s3: S3Client, bucket: string) {
  return async (event: ArchiveEvent): Promise<ArchiveResult> => {
    const records = event.Records ?? [];
    for (const [index, record] of records.entries()) {
      try {
        const { key, body } = archiveObject(record);
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: "application/json",
            ChecksumAlgorithm: "SHA256",
          }),
        );
      } catch (error) {
        console.error(
          JSON.stringify({
            level: "ERROR",
            message: "audit archive write failed",
            sequenceNumber: record.dynamodb?.SequenceNumber,
            errorName: error instanceof Error ? error.name : "unknown",
          }),
        );
        return {
          batchItemFailures: records
            .slice(index)
            .map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? "" })),
        };
      }
    }
    return { batchItemFailures: [] };
  };
}

let handle: ((event: ArchiveEvent) => Promise<ArchiveResult>) | undefined;

/** The Lambda entry: `ARCHIVE_BUCKET` names the Object Lock bucket. */
export async function handler(event: ArchiveEvent): Promise<ArchiveResult> {
  const bucket = process.env.ARCHIVE_BUCKET;
  if (!bucket) throw new Error("ARCHIVE_BUCKET is required");
  handle ??= archiveHandler(new S3Client({}), bucket);
  return handle(event);
}
