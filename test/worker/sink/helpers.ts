import { type AddressInfo, createConnection, createServer, type Server, type Socket } from "node:net";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";

export { waitFor } from "../../support/wait-for.ts";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };

export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: "us-east-1", credentials, forcePathStyle: true, maxAttempts: 1 });
}

/** A TCP proxy on 127.0.0.1 that can refuse service, to make SQS unreachable and bring it back. */
export class ToggleProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  up = true;
  connectionsRefused = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<string> {
    this.#server = createServer((client) => {
      if (!this.up) {
        this.connectionsRefused++;
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: "127.0.0.1", port: this.targetPort });
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  down(): void {
    this.up = false;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  restore(): void {
    this.up = true;
  }

  async stop(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
