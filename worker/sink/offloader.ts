/**
 * Events too large for one SQS message go whole to S3; a pointer message takes their place in the queue.
 * Without a bucket (or for a message that is not an event) the only honest answer is the dead-letter path.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  OFFLOAD_OBJECT_PREFIX,
  type QueuedEventMessage,
  type QueuedEventPointerMessage,
  type QueuedMessage,
} from "../../shared/contracts.ts";
import { pointerMessage } from "../core/message.ts";
import { errorCode } from "./send-errors.ts";
import type { DeadLetterError } from "./sink-ports.ts";

export type OffloadOutcome =
  | { kind: "pointer"; pointer: QueuedEventPointerMessage }
  | { kind: "reject"; error: DeadLetterError }
  | { kind: "retry"; code: string };

export interface OffloaderOptions {
  s3?: S3Client;
  bucket?: string;
  /** Object key prefix. Default `tokenstream/oversized`. */
  prefix?: string;
  requestTimeoutMs: number;
  maxMessageBytes: number;
}

export class Offloader {
  constructor(private readonly o: OffloaderOptions) {}

  async offload(msg: QueuedMessage, sizeBytes: number, seq: number): Promise<OffloadOutcome> {
    if (msg.kind !== "event" || !this.o.s3 || !this.o.bucket) {
      return {
        kind: "reject",
        error: {
          code: "event_too_large",
          message: `message of ${sizeBytes} bytes exceeds the SQS limit of ${this.o.maxMessageBytes} bytes and no offload bucket is configured`,
        },
      };
    }
    const objectKey = this.objectKey(msg, seq);
    const body = JSON.stringify(msg);
    try {
      await this.o.s3.send(
        new PutObjectCommand({
          Bucket: this.o.bucket,
          Key: objectKey,
          Body: body,
          ContentType: "application/json",
        }),
        { abortSignal: AbortSignal.timeout(this.o.requestTimeoutMs) },
      );
    } catch (err) {
      return { kind: "retry", code: errorCode(err) };
    }
    return {
      kind: "pointer",
      pointer: pointerMessage(msg, {
        bucket: this.o.bucket,
        objectKey,
        sizeBytes: Buffer.byteLength(body, "utf8"),
      }),
    };
  }

  objectKey(msg: QueuedEventMessage, seq: number): string {
    const day = msg.receivedAt.slice(0, 10);
    const prefix = (this.o.prefix ?? OFFLOAD_OBJECT_PREFIX).replace(/\/+$/, "");
    return `${prefix}/${day}/${msg.key || `seq-${seq}`}.json`;
  }
}
