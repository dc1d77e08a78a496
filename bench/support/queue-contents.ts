/** Every message a fauxqs queue holds (ready, delayed, in flight), with offloaded events read back from S3. */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { FauxqsServer } from "fauxqs";
import type { QueuedMessage } from "../../shared/contracts.ts";

export async function queueContents(
  fauxqs: FauxqsServer,
  queueName: string,
  s3: S3Client,
): Promise<QueuedMessage[]> {
  const queue = fauxqs.inspectQueue(queueName);
  const bodies = queue
    ? [
        ...queue.messages.ready,
        ...queue.messages.delayed,
        ...queue.messages.inflight.map((entry) => entry.message),
      ]
    : [];
  const out: QueuedMessage[] = [];
  for (const { body } of bodies) {
    const message = JSON.parse(body) as QueuedMessage;
    if (message.kind !== "event-pointer") {
      out.push(message);
      continue;
    }
    // The pointer stands for the whole event stored in S3; a pointer whose object cannot be read stays a pointer.
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: message.bucket, Key: message.objectKey }));
      out.push(JSON.parse(await object.Body!.transformToString()) as QueuedMessage);
    } catch {
      out.push(message);
    }
  }
  return out;
}
