/**
 * The liveness watchdog on a real `ws` server: a process that stalls (GC, CPU starvation) longer than the
 * heartbeat timeout while the server keeps sending is not a dead socket; a server that really goes quiet is.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import type { SessionFailure } from "../../../worker/core/close-policy.ts";
import { SocketLink } from "../../../worker/source/socket-link.ts";
import { waitFor } from "../../support/wait-for.ts";

const require = createRequire(import.meta.url);
const TIMEOUT_MS = 300;
let server: Worker | undefined;
const links: SocketLink[] = [];

afterEach(async () => {
  for (const l of links.splice(0)) l.close();
  await server?.terminate();
  server = undefined;
});

/**
 * A `ws` server on its own thread (it keeps sending while this thread stalls): a heartbeat frame every
 * 20 ms until it is told "quiet". Pings are not answered: only the heartbeats prove liveness.
 */
async function heartbeatServer() {
  const w = new Worker(
    `
    const { parentPort } = require("node:worker_threads");
    const { WebSocketServer } = require(${JSON.stringify(require.resolve("ws"))});
    let quiet = false;
    const s = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    s.on("connection", (ws) => {
      const beat = JSON.stringify({ topicName: "channel.metadata", eventBody: { message: "WebSocket Heartbeat" } });
      const timer = setInterval(() => { if (!quiet) ws.send(beat); }, 20);
      ws.on("close", () => clearInterval(timer));
    });
    s.on("listening", () => parentPort.postMessage(s.address().port));
    parentPort.on("message", () => { quiet = true; });
    `,
    { eval: true },
  );
  server = w;
  const port = await new Promise<number>((resolve) => w.once("message", resolve));
  return { url: `ws://127.0.0.1:${port}/`, quiet: () => w.postMessage("quiet") };
}

function connect(url: string) {
  const failures: SessionFailure[] = [];
  let open = false;
  const link = new SocketLink(
    { url, heartbeatTimeoutMs: TIMEOUT_MS, pingStyle: "json" },
    { open: () => (open = true), frame: () => undefined, failure: (f) => failures.push(f) },
  );
  links.push(link);
  link.connect();
  return { link, failures, isOpen: () => open };
}

function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // the process is stalled: timers and socket reads wait
  }
}

describe("socket link watchdog", () => {
  it("a stall longer than the timeout, with frames arriving meanwhile, is not a dead socket", async () => {
    const srv = await heartbeatServer();
    const c = connect(srv.url);
    await waitFor(c.isOpen, 5_000, "open");
    for (let i = 0; i < 3; i++) {
      // Stalled outside the timers phase (as in a socket read's callback), so the next loop pass runs the
      // watchdog's due tick before it reads the frames that arrived meanwhile.
      await new Promise((r) => setTimeout(r, 50));
      await new Promise<void>((r) =>
        setImmediate(() => {
          blockEventLoop(3 * TIMEOUT_MS);
          r();
        }),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(c.failures).toEqual([]);
  });

  it("a liveness confirmation outlived by a stall counts the frames that arrived meanwhile", async () => {
    const srv = await heartbeatServer();
    const c = connect(srv.url);
    await waitFor(c.isOpen, 5_000, "open");
    await new Promise((r) => setTimeout(r, 50));
    const confirmed = await new Promise<boolean>((resolve) =>
      setImmediate(() => {
        const pending = c.link.confirmLive(TIMEOUT_MS / 2);
        blockEventLoop(2 * TIMEOUT_MS);
        resolve(pending);
      }),
    );
    expect(confirmed).toBe(true);
    expect(c.failures).toEqual([]);
  });

  it("a server that goes quiet is declared dead after the timeout", async () => {
    const srv = await heartbeatServer();
    const c = connect(srv.url);
    await waitFor(c.isOpen, 5_000, "open");
    const quietAt = Date.now();
    srv.quiet();
    await waitFor(() => c.failures.length > 0, 5_000, "the watchdog");
    expect(c.failures).toEqual([{ kind: "watchdog" }]);
    expect(Date.now() - quietAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 25);
  });
});
