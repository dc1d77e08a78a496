/**
 * The SQS client the sink sends with, built for many SendMessageBatch calls per second. At 10,000 events/s
 * the sink makes 1,000 calls/s, and the SDK's per-call CPU, not SQS, becomes the ceiling of a task:
 * - a keep-alive socket for every batch the sink may have in flight (the SDK's default agent holds 50, so a
 *   wider window would queue inside the agent and look like SQS latency to the in-flight controller);
 * - the SDK's MD5 check of every message body in the answer done with node:crypto, not the SDK's pure-JS
 *   MD5 (same check, same error on a mismatch, a fraction of the CPU);
 * - no SDK logger middleware: the sink logs what it needs itself, and the middleware walks every request and
 *   answer through the schema's sensitive-data filter on each call even when nothing is logged.
 */
import { createHash, type Hash } from "node:crypto";
import { SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";

/** Sockets beyond the in-flight window: the dead-letter queue and a probe share the client. */
const SPARE_SOCKETS = 8;

/** The SDK's checksum interface over node:crypto's MD5. */
export class NodeMd5 {
  #hash: Hash = createHash("md5");

  update(data: Uint8Array | string): void {
    this.#hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = createHash("md5");
  }
}

export type SinkSqsClientConfig = Pick<SQSClientConfig, "region" | "endpoint" | "credentials">;

/** An SQS client for a sink that keeps up to `maxInFlight` batches in flight. */
export function sinkSqsClient(config: SinkSqsClientConfig, maxInFlight: number): SQSClient {
  const sockets = { keepAlive: true, maxSockets: maxInFlight + SPARE_SOCKETS };
  const client = new SQSClient({
    ...config,
    md5: NodeMd5,
    requestHandler: { httpAgent: sockets, httpsAgent: sockets },
  });
  client.middlewareStack.remove("loggerMiddleware");
  return client;
}
