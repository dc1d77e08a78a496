import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { QueuedEventMessage, QueuedMessage } from "../../../shared/contracts.ts";
import { fingerprint } from "../../../shared/fingerprint.ts";
import { type RunningWorker, startWorker } from "../../../worker/app.ts";
import type { WorkerConfig } from "../../../worker/config.ts";
import type { TokenSource } from "../../../worker/token/token-source.ts";
import { waitFor } from "../../support/wait-for.ts";
import { TEST_CREDENTIALS } from "./harness.ts";

process.env.POWERTOOLS_METRICS_DISABLED = "true";

let wss: WebSocketServer | undefined;
let fauxqs: FauxqsServer | undefined;
let worker: RunningWorker | undefined;
let spoolDir: string | undefined;

afterEach(async () => {
  await worker?.stop(Date.now() + 3_000);
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
  await fauxqs?.stop();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
  wss = fauxqs = worker = spoolDir = undefined;
});

const staticTokens: TokenSource = {
  current: async () => ({
    accessToken: "static-test-token",
    expiresAtMs: Date.now() + 3_600_000,
    fingerprint: fingerprint("static-test-token"),
  }),
  refresh: async () => ({
    accessToken: "static-test-token",
    expiresAtMs: Date.now() + 3_600_000,
    fingerprint: fingerprint("static-test-token"),
  }),
};

const event = (n: number) =>
  JSON.stringify({
    topicName: "t.alpha",
    version: "2",
    eventBody: { sequence: n },
    metadata: { CorrelationId: `c-${n}` },
  });

describe("a generic stream sending malformed frames", () => {
  it("counts each malformed frame, keeps the session, delivers the good events; /healthz follows liveness", async () => {
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => wss?.once("listening", () => r()));
    wss.on("connection", (ws) => {
      ws.send(event(1));
      ws.send("{not json");
      ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
      ws.send(JSON.stringify({ eventBody: { no: "topic" } }));
      ws.send(JSON.stringify([1, 2, 3]));
      ws.send(JSON.stringify({ topicName: "t.alpha", eventBody: "x".repeat(1_200_000) }));
      ws.send(event(2));
      const hb = setInterval(
        () =>
          ws.send(
            JSON.stringify({ topicName: "channel.metadata", eventBody: { message: "WebSocket Heartbeat" } }),
          ),
        50,
      );
      ws.on("close", () => clearInterval(hb));
    });
    const port = (wss.address() as AddressInfo).port;
    fauxqs = await startFauxqs({ port: 0, logger: false });
    const { queueUrl } = fauxqs.createQueue("events.fifo", { attributes: { FifoQueue: "true" } });
    spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-malformed-"));
    const config: WorkerConfig = {
      sourceKind: "generic",
      apiUrl: undefined,
      loginUrl: undefined,
      genericStreamUrl: `ws://127.0.0.1:${port}/stream`,
      genericTokenPlacement: "header",
      topics: ["t.alpha"],
      redundancy: 1,
      tokenSource: { kind: "direct", clientId: "unused", clientSecret: "unused" },
      queueUrl,
      region: "us-east-1",
      awsEndpointUrl: fauxqs.address,
      healthPort: 0,
      spoolDir,
      offloadBucket: undefined,
      shutdownTimeoutMs: 5_000,
      heartbeatTimeoutMs: 400,
      backoffBaseMs: 20,
      backoffCapMs: 100,
      minSessionLifeMs: 100,
      metricsIntervalMs: 3_600_000,
      logLevel: "SILENT",
      // A configured frame limit below the 1.2 MB frame sent above (the default, 64 MiB, takes it).
      maxFrameBytes: 1_048_576,
    };
    const sqs = new SQSClient({
      region: "us-east-1",
      endpoint: fauxqs.address,
      credentials: TEST_CREDENTIALS,
    });
    const w = await startWorker(config, { sqs, tokenSource: staticTokens });
    worker = w;
    const queued = (): QueuedMessage[] =>
      (fauxqs?.inspectQueue("events.fifo")?.messages.ready ?? []).map(
        (m) => JSON.parse(m.body) as QueuedMessage,
      );
    const health = async () => {
      const res = await fetch(`http://127.0.0.1:${w.healthPort}/healthz`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    await waitFor(() => w.stats().malformedFrames === 5, 5_000, "5 malformed frames counted");
    await waitFor(() => queued().length === 2, 5_000, "both good events queued");
    const events = queued().filter((m): m is QueuedEventMessage => m.kind === "event");
    expect(events.map((e) => (e.event.eventBody as { sequence: number }).sequence)).toEqual([1, 2]);
    // Still the first session: no frame made it fail.
    await new Promise((r) => setTimeout(r, 500));
    expect(w.stats().sessionFailures).toBe(0);
    expect(w.stats().sessionsStarted).toBe(1);
    const ok = await health();
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: "ok", liveSessions: 1, malformedFrames: 5 });
    expect(JSON.stringify(ok.body)).not.toContain("static-test-token");

    // Upstream gone: no live session -> 503.
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss?.close(() => r()));
    await waitFor(() => w.stats().liveSessions === 0, 5_000, "session down");
    const down = await health();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: "unhealthy", liveSessions: 0 });
    expect((await fetch(`http://127.0.0.1:${w.healthPort}/other`)).status).toBe(404);
  });
});
