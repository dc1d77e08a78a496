/**
 * End-to-end harness: the real simulator, fauxqs as SQS (in-process, port 0), and the worker composed by
 * startWorker() with short intervals. Reads back what reached the queue and checks it against the ledger.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import type {
  DeadLetterRecord,
  QueuedEventMessage,
  QueuedGapMessage,
  QueuedMessage,
} from "../../../shared/contracts.ts";
import { receivedRef, type Simulator, type SimulatorOptions, startSimulator } from "../../../sim/index.ts";
import { createSessions, type RunningWorker, startWorker, type WorkerDeps } from "../../../worker/app.ts";
import type { WorkerConfig } from "../../../worker/config.ts";
import type { SessionFactory } from "../../../worker/source/session.ts";
import { DirectTokenSource } from "../../../worker/token/direct-token-source.ts";
import type { TokenSource } from "../../../worker/token/token-source.ts";
import { waitFor } from "../../support/wait-for.ts";

// EMF lines on stdout would drown the test output; the metrics themselves are WORKER-CORE's to test.
process.env.POWERTOOLS_METRICS_DISABLED = "true";

export const QUEUE_NAME = "events.fifo";
export const TEST_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export interface HarnessOptions {
  redundancy: number;
  source?: "genesys" | "generic";
  topics?: string[];
  sim?: SimulatorOptions;
  config?: Partial<WorkerConfig>;
  /** Wrap the real token source (fault injection). */
  wrapTokens?: (inner: TokenSource, sim: Simulator) => TokenSource;
  /** Route SQS through this endpoint instead of fauxqs directly (given fauxqs's address). */
  sqsEndpoint?: (fauxqsAddress: string) => Promise<string> | string;
  deps?: Partial<WorkerDeps>;
  /** Route the worker's Genesys REST calls through this URL instead (given the simulator's API URL). */
  apiVia?: (apiUrl: string) => Promise<string> | string;
  /** Runs after the simulator is up and before the worker starts (e.g. arm faults for the first requests). */
  beforeWorker?: (sim: Simulator) => void;
  /** Wrap the real session factory (observation of session lifecycles). */
  wrapSessions?: (inner: SessionFactory) => SessionFactory;
  /** Default true: a FIFO queue (events.fifo); false: a standard queue (events). */
  fifo?: boolean;
  /** Give the worker an offload bucket (OFFLOAD_BUCKET = OFFLOAD_BUCKET_NAME on fauxqs). Default false. */
  offloadBucket?: boolean;
  /** Give the worker a dead-letter queue (DEAD_LETTER_QUEUE_URL, a standard queue on fauxqs). Default false. */
  deadLetterQueue?: boolean;
}

export const OFFLOAD_BUCKET_NAME = "tokenstream-offload";
const DEAD_LETTER_QUEUE_NAME = "dead-letter";

export interface Harness {
  sim: Simulator;
  fauxqs: FauxqsServer;
  worker: RunningWorker;
  config: WorkerConfig;
  tokens: TokenSource;
  /** An S3 client on fauxqs (reading offloaded events). */
  s3: S3Client;
  queueName: string;
  messages(): QueuedMessage[];
  /** Records on the worker's dead-letter queue (with `deadLetterQueue`). */
  deadLetters(): DeadLetterRecord[];
  events(): QueuedEventMessage[];
  gaps(): QueuedGapMessage[];
  close(): Promise<void>;
}

/** Tokens, channels or socket_closing grace of about a second: the drain must fit well inside them. */
function shortLived(sim: SimulatorOptions | undefined): boolean {
  return (
    (sim?.tokenLifetimeSec ?? 3600) < 5 ||
    (sim?.channelLifetimeMs ?? Number.POSITIVE_INFINITY) < 5_000 ||
    (sim?.socketClosingGraceMs ?? Number.POSITIVE_INFINITY) < 5_000
  );
}

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const sim = await startSimulator({
    host: "127.0.0.1",
    port: 0,
    heartbeatIntervalMs: 50,
    eventRatePerSec: 0,
    seed: 7,
    ...o.sim,
  });
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const queueName = o.fifo === false ? "events" : QUEUE_NAME;
  const { queueUrl } = fauxqs.createQueue(
    queueName,
    o.fifo === false ? {} : { attributes: { FifoQueue: "true" } },
  );
  if (o.offloadBucket) fauxqs.createBucket(OFFLOAD_BUCKET_NAME);
  const deadLetterQueueUrl = o.deadLetterQueue
    ? fauxqs.createQueue(DEAD_LETTER_QUEUE_NAME).queueUrl
    : undefined;
  const endpoint = o.sqsEndpoint ? await o.sqsEndpoint(fauxqs.address) : fauxqs.address;
  const sqs = new SQSClient({ region: "us-east-1", endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: fauxqs.address,
    credentials: TEST_CREDENTIALS,
    forcePathStyle: true,
    maxAttempts: 1,
  });
  const spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-spool-"));
  const source = o.source ?? "genesys";
  const config: WorkerConfig = {
    sourceKind: source,
    apiUrl: o.apiVia ? await o.apiVia(sim.apiUrl) : sim.apiUrl,
    loginUrl: sim.loginUrl,
    genericStreamUrl: sim.genericStreamUrl,
    genericTokenPlacement: "query",
    topics: o.topics ?? ["t.alpha", "t.beta"],
    redundancy: o.redundancy,
    tokenSource: { kind: "direct", clientId: "sim-client", clientSecret: "sim-secret" },
    queueUrl,
    region: "us-east-1",
    awsEndpointUrl: endpoint,
    healthPort: 0,
    spoolDir,
    offloadBucket: o.offloadBucket ? OFFLOAD_BUCKET_NAME : undefined,
    deadLetterQueueUrl,
    shutdownTimeoutMs: 10_000,
    heartbeatTimeoutMs: 400,
    backoffBaseMs: 20,
    backoffCapMs: 300,
    minSessionLifeMs: 100,
    metricsIntervalMs: 3_600_000,
    logLevel: "SILENT",
    // The simulator's sessions see each event within milliseconds of each other; what lags is this busy
    // process working through a burst on one socket before the other: a compressed bound of 1 s. Tests
    // with tokens or channels living about a second compress it further (see e2e-rotations).
    lagBoundMs: shortLived(o.sim) ? 100 : 1_000,
    propagationMs: 50,
    ...o.config,
  };
  const direct = new DirectTokenSource({
    loginUrl: sim.loginUrl,
    clientId: "sim-client",
    clientSecret: "sim-secret",
    backoff: { baseMs: 10, capMs: 50 },
  });
  const tokens = o.wrapTokens ? o.wrapTokens(direct, sim) : direct;
  o.beforeWorker?.(sim);
  const worker = await startWorker(config, {
    sqs,
    s3,
    tokenSource: tokens,
    sinkOptions: { retry: { baseMs: 20, capMs: 200 }, requestTimeoutMs: 2_000 },
    ...(o.wrapSessions ? { sessions: o.wrapSessions(createSessions(config)) } : {}),
    ...o.deps,
  });
  const messages = (): QueuedMessage[] => {
    const q = fauxqs.inspectQueue(queueName);
    if (!q) return [];
    const all = [...q.messages.ready, ...q.messages.delayed, ...q.messages.inflight.map((i) => i.message)];
    // FIFO: queue order; standard queues have no sequence numbers (stable sort keeps insertion order).
    all.sort((a, b) => {
      const x = BigInt(a.sequenceNumber ?? "0");
      const y = BigInt(b.sequenceNumber ?? "0");
      return x < y ? -1 : x > y ? 1 : 0;
    });
    return all.map((m) => JSON.parse(m.body) as QueuedMessage);
  };
  let closed = false;
  return {
    sim,
    fauxqs,
    worker,
    config,
    tokens,
    s3,
    queueName,
    messages,
    deadLetters: () =>
      (fauxqs.inspectQueue(DEAD_LETTER_QUEUE_NAME)?.messages.ready ?? []).map(
        (m) => JSON.parse(m.body) as DeadLetterRecord,
      ),
    events: () => messages().filter((m): m is QueuedEventMessage => m.kind === "event"),
    gaps: () => messages().filter((m): m is QueuedGapMessage => m.kind === "gap"),
    async close() {
      if (closed) return;
      closed = true;
      await worker.stop(Date.now() + 5_000);
      await sim.close();
      sqs.destroy();
      s3.destroy();
      await fauxqs.stop();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

/** Waits for the worker to be fully live, runs the generator for `ms` (calling `during` meanwhile), stops it. */
export async function runTraffic(
  h: Harness,
  opts: {
    rate: number;
    ms: number;
    during?: () => Promise<void>;
    /** Keep generating past `ms` until the simulator has emitted this many events (a loaded CI box is slow). */
    minEmitted?: number;
  },
) {
  await waitFor(() => h.worker.stats().liveSessions >= h.config.redundancy, 10_000, "all sessions live");
  h.sim.startGenerator(opts.rate);
  const until = Date.now() + opts.ms;
  if (opts.during) await opts.during();
  const left = until - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const minEmitted = opts.minEmitted ?? 0;
  await waitFor(() => h.sim.ledger.total() >= minEmitted, 15_000, `${minEmitted} events emitted`);
  h.sim.stopGenerator();
}

/**
 * Waits until the worker has stopped receiving (the generator's last batch may still be on the wire when it is
 * stopped: no new event for `quietMs`) and every event it handed the sink is in the queue.
 */
export async function settle(h: Harness, timeoutMs = 15_000, quietMs = 150): Promise<void> {
  let lastIn = -1;
  let changedAt = Date.now();
  await waitFor(
    () => {
      const s = h.worker.stats();
      if (s.eventsIn !== lastIn) {
        lastIn = s.eventsIn;
        changedAt = Date.now();
      }
      return Date.now() - changedAt >= quietMs && s.bufferDepth === 0 && h.events().length >= s.eventsOut;
    },
    timeoutMs,
    "the sink to drain into the queue",
  );
}

export interface Coverage {
  emitted: number;
  received: number;
  missing: { topic: string; sequence: number; emittedAt: number }[];
  duplicates: number;
  orderViolations: number;
}

/** Compares the queue with the simulator's ledger: loss, duplicates and per-topic order. */
export function coverage(h: Harness): Coverage {
  const events = h.events();
  const refs = events.map((m) => receivedRef(m.event));
  const seen = new Set<string>();
  let duplicates = 0;
  let orderViolations = 0;
  const lastSeq = new Map<string, number>();
  for (const r of refs) {
    const k = `${r.topicName}\u0000${r.sequence}`;
    if (seen.has(k)) duplicates++;
    seen.add(k);
    const prev = lastSeq.get(r.topicName) ?? 0;
    if ((r.sequence ?? 0) <= prev) orderViolations++;
    lastSeq.set(r.topicName, r.sequence ?? 0);
  }
  const missing = h.sim.ledger
    .missingFrom(refs)
    .map((e) => ({ topic: e.topic, sequence: e.sequence, emittedAt: e.emittedAt }));
  return { emitted: h.sim.ledger.total(), received: events.length, missing, duplicates, orderViolations };
}

/** Every missing event lies inside a recorded gap (with `slackMs` either side for detection latency). */
export function lossWithinGaps(c: Coverage, gaps: QueuedGapMessage[], slackMs = 150): boolean {
  return c.missing.every((m) =>
    gaps.some(
      (g) => m.emittedAt >= Date.parse(g.start) - slackMs && m.emittedAt <= Date.parse(g.end) + slackMs,
    ),
  );
}

/**
 * The loss equals the recorded gaps: nothing the upstream delivered to a socket is missing (the worker itself
 * loses nothing), every missing event lies inside a gap, and every event emitted well inside a gap is missing
 * (the gap is not overstated). `slackMs` covers detection latency at both edges.
 */
export function lossEqualsGaps(
  h: Harness,
  c: Coverage,
  gaps: QueuedGapMessage[],
  opts: { slackMs?: number; foreignSockets?: boolean } = {},
): string[] {
  const slackMs = opts.slackMs ?? 150;
  const problems: string[] = [];
  const refs = h.events().map((m) => receivedRef(m.event));
  // With a foreign socket on the worker's channel, "delivered" includes deliveries to that socket.
  const lostAfterDelivery = opts.foreignSockets
    ? []
    : h.sim.ledger.missingFrom(refs, { onlyDelivered: true });
  if (lostAfterDelivery.length > 0) problems.push(`${lostAfterDelivery.length} delivered events missing`);
  if (!lossWithinGaps(c, gaps, slackMs)) problems.push("an event outside every gap is missing");
  const missing = new Set(c.missing.map((m) => `${m.topic}\u0000${m.sequence}`));
  for (const g of gaps) {
    const from = Date.parse(g.start) + slackMs;
    const to = Date.parse(g.end) - slackMs;
    const inside = h.sim.ledger.emitted().filter((e) => e.emittedAt > from && e.emittedAt < to);
    const received = inside.filter((e) => !missing.has(`${e.topic}\u0000${e.sequence}`));
    if (received.length > 0)
      problems.push(`${received.length} events inside gap ${g.start}..${g.end} arrived`);
  }
  return problems;
}
