/**
 * The SQS client the sink sends with, built for many SendMessageBatch calls per second. At 10,000 events/s
 * the sink makes 1,000 calls/s, and the SDK's per-call CPU, not SQS, becomes the ceiling of a task:
 * - a keep-alive socket for every batch the sink may have in flight (the SDK's default agent holds 50, so a
 *   wider window would queue inside the agent and look like SQS latency to the in-flight controller);
 * - the SDK's MD5 check of message bodies is off: the sink checks each accepted entry's MD5OfMessageBody
 *   itself with node:crypto (`bodyMd5Matches`, in batch-sender.ts and dead-letter-queue.ts), where the SDK
 *   hashes with a pure-JS MD5 and fails the whole call on one mismatch;
 * - no SDK logger middleware: the sink logs what it needs itself, and the middleware walks every request and
 *   answer through the schema's sensitive-data filter on each call even when nothing is logged.
 */
import { createHash } from "node:crypto";
import { SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";

/** Sockets beyond the in-flight window: the dead-letter queue and a probe share the client. */
const SPARE_SOCKETS = 8;

export type SinkSqsClientConfig = Pick<SQSClientConfig, "region" | "endpoint" | "credentials">;

/** An SQS client for a sink that keeps up to `maxInFlight` batches in flight. */
export function sinkSqsClient(config: SinkSqsClientConfig, maxInFlight: number): SQSClient {
  const sockets = { keepAlive: true, maxSockets: maxInFlight + SPARE_SOCKETS };
  const client = new SQSClient({
    ...config,
    md5: false,
    requestHandler: { httpAgent: sockets, httpsAgent: sockets },
  });
  client.middlewareStack.remove("loggerMiddleware");
  return client;
}

/** The code of an accepted message whose MD5OfMessageBody is not the body sent: it is sent again. */
export const INVALID_CHECKSUM = "InvalidChecksum";

/** SQS's MD5OfMessageBody is the MD5 of the UTF-8 body we sent (a missing one does not match). */
export function bodyMd5Matches(body: string, md5: string | undefined): boolean {
  return md5 !== undefined && createHash("md5").update(body, "utf8").digest("hex") === md5;
}
