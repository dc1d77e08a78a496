/**
 * One DynamoDB stream record of the audit table -> one S3 object in the Object Lock archive. Pure: no I/O.
 * Every change is archived, not only inserts: an overwrite (MODIFY) or a removal (REMOVE, by TTL or the
 * break-glass role) keeps its old image, so the archive shows what the table no longer does.
 */

/** The fields of a DynamoDB stream record this archive uses (aws-lambda's DynamoDBRecord, loosely). */
export interface AuditStreamRecord {
  eventID?: string;
  eventName?: "INSERT" | "MODIFY" | "REMOVE" | string;
  dynamodb?: {
    ApproximateCreationDateTime?: number;
    Keys?: Record<string, { S?: string }>;
    NewImage?: Record<string, unknown>;
    OldImage?: Record<string, unknown>;
    SequenceNumber?: string;
  };
  /** Present when DynamoDB TTL removed the item. */
  userIdentity?: { type?: string; principalId?: string };
}

export interface ArchiveObject {
  key: string;
  body: string;
}

/** Thrown for a record without the keys or id an archive object is named by: retried, then dead-lettered. */
export class UnarchivableRecordError extends Error {
  override readonly name = "UnarchivableRecordError";
}

/** `audit/<pk>/<sk>/<sequence number>-<event>.json`: one object per change, in stream order per item. */
export function archiveObject(record: AuditStreamRecord): ArchiveObject {
  const pk = record.dynamodb?.Keys?.pk?.S;
  const sk = record.dynamodb?.Keys?.sk?.S;
  const sequence = record.dynamodb?.SequenceNumber;
  if (!pk || !sk || !sequence || !record.eventName) {
    throw new UnarchivableRecordError("stream record without pk, sk, sequence number or event name");
  }
  const key = `audit/${encodeURIComponent(pk)}/${encodeURIComponent(sk)}/${sequence}-${record.eventName}.json`;
  const body = JSON.stringify({
    eventID: record.eventID,
    eventName: record.eventName,
    approximateCreationDateTime: record.dynamodb?.ApproximateCreationDateTime,
    removedByTtl: record.userIdentity?.principalId === "dynamodb.amazonaws.com",
    keys: record.dynamodb?.Keys,
    newImage: record.dynamodb?.NewImage,
    oldImage: record.dynamodb?.OldImage,
  });
  return { key, body };
}
