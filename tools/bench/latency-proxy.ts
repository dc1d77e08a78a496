/**
 * An HTTP proxy on 127.0.0.1 that answers every request `delayMs` (+ up to `jitterMs`, uniform) later than
 * its upstream would: fauxqs on loopback answers in well under a millisecond, a real in-region SQS in tens
 * of milliseconds. The delay is applied to the response, so requests reach the upstream at once and in
 * order, as they would reach SQS; only the round trip is longer. Counts requests and the most in flight.
 *
 * Node timers fire on whole milliseconds of loop time, a fraction of a millisecond late on average: a network
 * delay has no such bias. The proxy learns its timers' mean lateness (timer-lateness.ts) and sets them that
 * much earlier, so the mean hold is `delayMs` + `jitterMs` / 2, no more; each hold still varies by the
 * timer's granularity, like jitter. `held` sums the holds, to check.
 */
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { TimerLateness } from "./timer-lateness.ts";

export interface LatencyProxyOptions {
  /** Upstream base, e.g. http://127.0.0.1:4566 */
  target: string;
  delayMs: number;
  jitterMs?: number;
  random?: () => number;
}

export class LatencyProxy {
  #server: Server | undefined;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  readonly #target: URL;
  #inFlight = 0;
  /** Mean lateness of the proxy's timers, subtracted from each wait. */
  readonly #lateness = new TimerLateness();
  requests = 0;
  maxInFlight = 0;
  /** Answers held, and their total hold (request in to answer out), in ms. */
  readonly held = { answers: 0, totalMs: 0 };

  constructor(private readonly opts: LatencyProxyOptions) {
    this.#target = new URL(opts.target);
  }

  /** Starts listening; returns the proxy's base URL. */
  async start(): Promise<string> {
    this.#server = createServer((req, res) => this.#forward(req, res));
    this.#server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #delay(): number {
    const jitter = this.opts.jitterMs ?? 0;
    return this.opts.delayMs + (jitter > 0 ? (this.opts.random ?? Math.random)() * jitter : 0);
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    const startedAt = performance.now();
    const delay = this.#delay();
    const done = (): void => {
      this.#inFlight--;
    };
    const upstream = request(
      {
        host: this.#target.hostname,
        port: this.#target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.#target.host },
        agent: this.#agent,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          const dueAt = startedAt + delay;
          const wait = dueAt - performance.now() - this.#lateness.correctionMs();
          setTimeout(
            () => {
              const now = performance.now();
              if (wait > 0) this.#lateness.learn(now - dueAt);
              this.held.answers++;
              this.held.totalMs += now - startedAt;
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(chunks));
              done();
            },
            Math.max(0, wait),
          );
        });
      },
    );
    upstream.on("error", () => {
      res.writeHead(502).end();
      done();
    });
    req.pipe(upstream);
  }

  async stop(): Promise<void> {
    this.#agent.destroy();
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
