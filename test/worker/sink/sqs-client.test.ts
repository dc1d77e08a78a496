import { createHash } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventMessage, messageBody } from "../../../worker/core/message.ts";
import { batchResult } from "../../../worker/sink/batch-sender.ts";
import { DeadLetterQueue } from "../../../worker/sink/dead-letter-queue.ts";
import { deadLetterMessage } from "../../../worker/sink/dead-letter-record.ts";
import { EntryFactory } from "../../../worker/sink/entry-factory.ts";
import { bodyMd5Matches, INVALID_CHECKSUM, sinkSqsClient } from "../../../worker/sink/sqs-client.ts";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };
let fauxqs: FauxqsServer;
const clients: SQSClient[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, logger: false });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

afterAll(async () => {
  await fauxqs.stop();
});

function client(endpoint: string, maxInFlight = 4): SQSClient {
  const c = sinkSqsClient({ endpoint, region: "us-east-1", credentials }, maxInFlight);
  clients.push(c);
  return c;
}

const md5Hex = (s: string): string => createHash("md5").update(s).digest("hex");

/** A fake SQS endpoint over real HTTP that accepts every entry after `holdMs`; counts concurrent requests. */
async function slowSqs(holdMs: number, onRequest: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    onRequest(res);
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const entries = (JSON.parse(body) as { Entries: { Id: string; MessageBody: string }[] }).Entries;
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
        res.end(
          JSON.stringify({
            Successful: entries.map((e) => ({
              Id: e.Id,
              MessageId: "m",
              MD5OfMessageBody: md5Hex(e.MessageBody),
            })),
            Failed: [],
          }),
        );
      }, holdMs);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const batch = (queueUrl: string, n = 3) =>
  new SendMessageBatchCommand({
    QueueUrl: queueUrl,
    Entries: Array.from({ length: n }, (_, i) => ({ Id: String(i), MessageBody: `{"i":${i},"s":"é"}` })),
  });

describe("sinkSqsClient and the sink's own MD5 check", () => {
  it("bodyMd5Matches is the MD5 of the UTF-8 body; a missing MD5 does not match", () => {
    expect(bodyMd5Matches("", "d41d8cd98f00b204e9800998ecf8427e")).toBe(true);
    expect(bodyMd5Matches("é", md5Hex("é"))).toBe(true);
    expect(bodyMd5Matches("é", md5Hex("e"))).toBe(false);
    expect(bodyMd5Matches("é", undefined)).toBe(false);
  });

  it("sends a batch to SQS (fauxqs), whose MD5s match what was sent", async () => {
    const { queueUrl } = fauxqs.createQueue("client-ok");
    const command = batch(queueUrl);
    const out = await client(`http://127.0.0.1:${fauxqs.port}`).send(command);
    expect(out.Successful?.map((s) => s.Id).sort()).toEqual(["0", "1", "2"]);
    for (const s of out.Successful ?? []) {
      const sent = command.input.Entries?.find((e) => e.Id === s.Id);
      expect(bodyMd5Matches(sent!.MessageBody!, s.MD5OfMessageBody)).toBe(true);
    }
    expect(fauxqs.inspectQueue("client-ok")?.messages.ready).toHaveLength(3);
  });

  it("an accepted entry whose MD5 does not match is sent again; the others are delivered", () => {
    const factory = new EntryFactory(true, 64, 1_048_576, () => 0);
    const entries = [0, 1, 2].map((i) =>
      factory.make(eventMessage({ topicName: `t${i}`, eventBody: { i } }, `k${i}`, 0), undefined),
    );
    const bodies = entries.map((e) => e.sqs.fields.MessageBody);
    expect(bodies[0]).toBe(messageBody(eventMessage({ topicName: "t0", eventBody: { i: 0 } }, "k0", 0)));
    const out = batchResult(entries, {
      Successful: entries.map((_, i) => ({
        Id: String(i),
        MessageId: `m${i}`,
        MD5OfMessageBody: md5Hex(i === 1 ? "corrupted" : bodies[i]!),
      })),
      Failed: [],
    });
    expect(out.delivered).toEqual([entries[0], entries[2]]);
    expect(out.retryCode).toBe(INVALID_CHECKSUM);
    expect([...out.retryLanes]).toEqual(["t1"]);
  });

  it("the dead-letter queue sends a record again while SQS answers with another body's MD5", async () => {
    let calls = 0;
    let goodFrom = 2;
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        const sent = (JSON.parse(body) as { MessageBody: string }).MessageBody;
        calls++;
        res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
        res.end(
          JSON.stringify({ MessageId: "m", MD5OfMessageBody: md5Hex(calls >= goodFrom ? sent : "other") }),
        );
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dlq = new DeadLetterQueue({
      sqs: client(url),
      queueUrl: `${url}/000000000000/dlq`,
      requestTimeoutMs: 2_000,
      attempts: 3,
      retryBaseMs: 1,
    });
    const record = deadLetterMessage(
      { line: "not a queued message é" },
      { code: "spool_line_invalid", message: "test" },
      0,
      1_048_576,
    );
    await dlq.send(record);
    expect(calls).toBe(2);
    calls = 0;
    goodFrom = 99;
    await expect(dlq.send(record)).rejects.toMatchObject({ code: INVALID_CHECKSUM, attempts: 3 });
    expect(calls).toBe(3);
  });

  it("opens a socket for every batch of its in-flight window (more than the SDK's default 50)", async () => {
    let open = 0;
    let most = 0;
    const url = await slowSqs(150, (res) => {
      open++;
      most = Math.max(most, open);
      res.on("finish", () => open--);
    });
    const sqs = client(url, 64);
    await Promise.all(Array.from({ length: 90 }, () => sqs.send(batch(`${url}/000000000000/q`, 1))));
    // 64 in flight plus the spare sockets (dead-letter sends share the client), never more.
    expect(most).toBe(72);
  });
});
