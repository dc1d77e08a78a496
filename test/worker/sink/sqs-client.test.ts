import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NodeMd5, sinkSqsClient } from "../../../worker/sink/sqs-client.ts";

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

/** A fake SQS endpoint over real HTTP that answers every SendMessageBatch with `answer`. */
async function fakeSqs(
  answer: (entries: { Id: string; MessageBody: string }[], res: ServerResponse) => void,
  onRequest: (req: IncomingMessage) => void = () => {},
): Promise<string> {
  const server = createServer((req, res) => {
    onRequest(req);
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => answer((JSON.parse(body) as { Entries: [] }).Entries, res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function reply(res: ServerResponse, ids: { Id: string; md5: string }[]): void {
  res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
  res.end(
    JSON.stringify({
      Successful: ids.map(({ Id, md5 }) => ({ Id, MessageId: `m-${Id}`, MD5OfMessageBody: md5 })),
      Failed: [],
    }),
  );
}

const md5Hex = (s: string): string => createHash("md5").update(s).digest("hex");
const batch = (queueUrl: string, n = 3) =>
  new SendMessageBatchCommand({
    QueueUrl: queueUrl,
    Entries: Array.from({ length: n }, (_, i) => ({ Id: String(i), MessageBody: `{"i":${i},"s":"é"}` })),
  });

describe("sinkSqsClient", () => {
  it("NodeMd5 is the MD5 the SDK expects, resettable", async () => {
    const h = new NodeMd5();
    h.update("");
    expect(Buffer.from(await h.digest()).toString("hex")).toBe("d41d8cd98f00b204e9800998ecf8427e");
    h.reset();
    h.update(new TextEncoder().encode("é"));
    expect(Buffer.from(await h.digest()).toString("hex")).toBe(md5Hex("é"));
  });

  it("sends a batch to SQS (fauxqs), the answer's MD5s checked", async () => {
    const { queueUrl } = fauxqs.createQueue("client-ok");
    const out = await client(`http://127.0.0.1:${fauxqs.port}`).send(batch(queueUrl));
    expect(out.Successful?.map((s) => s.Id).sort()).toEqual(["0", "1", "2"]);
    expect(fauxqs.inspectQueue("client-ok")?.messages.ready).toHaveLength(3);
  });

  it("still refuses an answer whose MD5 does not match a message body", async () => {
    const url = await fakeSqs((entries, res) =>
      reply(
        res,
        entries.map((e, i) => ({
          Id: e.Id,
          md5: i === 1 ? md5Hex("something else") : md5Hex(e.MessageBody),
        })),
      ),
    );
    await expect(client(url).send(batch(`${url}/000000000000/q`))).rejects.toThrow(/Invalid MD5 checksum/);
    const good = await fakeSqs((entries, res) =>
      reply(
        res,
        entries.map((e) => ({ Id: e.Id, md5: md5Hex(e.MessageBody) })),
      ),
    );
    await expect(client(good).send(batch(`${good}/000000000000/q`))).resolves.toMatchObject({
      Successful: expect.any(Array),
    });
  });

  it("opens a socket for every batch of its in-flight window (more than the SDK's default 50)", async () => {
    let open = 0;
    let most = 0;
    const url = await fakeSqs(
      (entries, res) =>
        setTimeout(() => {
          open--;
          reply(
            res,
            entries.map((e) => ({ Id: e.Id, md5: md5Hex(e.MessageBody) })),
          );
        }, 150),
      () => {
        open++;
        most = Math.max(most, open);
      },
    );
    const sqs = client(url, 64);
    await Promise.all(Array.from({ length: 90 }, () => sqs.send(batch(`${url}/000000000000/q`, 1))));
    // 64 in flight plus the spare sockets (dead-letter sends share the client), never more.
    expect(most).toBe(72);
  });
});
