/**
 * The durable backlog on S3: `<prefix>/<owner>/<segment name>`, one object per sealed spool segment,
 * encrypted by the bucket's default (KMS) encryption. A segment is written once (If-None-Match: *, so a
 * retried upload never replaces what another writer stored) and deleted once every line of it is settled.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { BacklogStore, StoredSegment } from "./backlog-store.ts";

export interface S3BacklogStoreOptions {
  s3: S3Client;
  bucket: string;
  /** Key prefix of this backlog (one per coverage scope). */
  prefix: string;
  requestTimeoutMs?: number;
}

export class S3BacklogStore implements BacklogStore {
  readonly #prefix: string;

  constructor(private readonly o: S3BacklogStoreOptions) {
    this.#prefix = o.prefix.replace(/\/+$/, "");
  }

  async put(owner: string, name: string, body: Buffer): Promise<void> {
    try {
      await this.o.s3.send(
        new PutObjectCommand({
          Bucket: this.o.bucket,
          Key: this.#key(owner, name),
          Body: body,
          ContentType: "application/x-ndjson",
          IfNoneMatch: "*",
        }),
        this.#timeout(),
      );
    } catch (err) {
      // Already stored by an earlier attempt whose answer was lost: the content is the same segment.
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return;
      throw err;
    }
  }

  async get(owner: string, name: string): Promise<Buffer> {
    const res = await this.o.s3.send(
      new GetObjectCommand({ Bucket: this.o.bucket, Key: this.#key(owner, name) }),
      this.#timeout(),
    );
    const bytes = await res.Body?.transformToByteArray();
    return Buffer.from(bytes ?? new Uint8Array());
  }

  async delete(owner: string, name: string): Promise<void> {
    await this.o.s3.send(
      new DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.#key(owner, name) }),
      this.#timeout(),
    );
  }

  async list(owner: string): Promise<StoredSegment[]> {
    const out: StoredSegment[] = [];
    const prefix = `${this.#prefix}/${owner}/`;
    let token: string | undefined;
    do {
      const res = await this.o.s3.send(
        new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: prefix, ContinuationToken: token }),
        this.#timeout(),
      );
      for (const o of res.Contents ?? []) {
        if (!o.Key) continue;
        out.push({ name: o.Key.slice(prefix.length), lastModifiedMs: o.LastModified?.getTime() ?? 0 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async owners(): Promise<string[]> {
    const owners: string[] = [];
    const prefix = `${this.#prefix}/`;
    let token: string | undefined;
    do {
      const res = await this.o.s3.send(
        new ListObjectsV2Command({
          Bucket: this.o.bucket,
          Prefix: prefix,
          Delimiter: "/",
          ContinuationToken: token,
        }),
        this.#timeout(),
      );
      for (const p of res.CommonPrefixes ?? []) {
        if (p.Prefix) owners.push(p.Prefix.slice(prefix.length).replace(/\/$/, ""));
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return owners;
  }

  #key(owner: string, name: string): string {
    return `${this.#prefix}/${owner}/${name}`;
  }

  #timeout(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 10_000) };
  }
}
