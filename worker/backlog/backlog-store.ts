/**
 * Port of the durable backlog: whole spool segments stored per owning task (worker/backlog/s3-backlog-store.ts
 * is the S3 adapter). Names sort in spool order.
 */
export interface StoredSegment {
  name: string;
  lastModifiedMs: number;
}

export interface BacklogStore {
  put(owner: string, name: string, body: Buffer): Promise<void>;
  get(owner: string, name: string): Promise<Buffer>;
  delete(owner: string, name: string): Promise<void>;
  /** The owner's segments, in name order. */
  list(owner: string): Promise<StoredSegment[]>;
  /** Every owner with at least one segment stored. */
  owners(): Promise<string[]>;
}
