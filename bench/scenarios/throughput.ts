/**
 * Throughput, measured side by side in one run. Process placement: the simulator (the sender) and fauxqs
 * (the SQS emulator) each run in a process of their own; so do the raw receiver, the core receiver, the
 * end-to-end worker and the ceiling client. The end-to-end worker and the ceiling client are built the way
 * worker/Dockerfile builds the worker (tools/bench/bundle-worker.ts) and run with plain node; the worker with
 * the runtime environment of a default-sized task (NODE_OPTIONS, MALLOC_ARENA_MAX: shared/worker-runtime.ts).
 *
 * 1. Receive capacity (tools/bench/receiver-process.ts): a raw `ws` client that only receives and
 *    JSON-parses, vs the worker core (session, frame parsing, de-dup, message building) into a null sink;
 *    one socket each, topics of their own, a warm-up burst each, then `rounds` alternating bursts of
 *    `coreEvents` events. One simulator process sends about as fast as a raw client receives, so timing
 *    the burst as it is sent would largely measure the sender. Instead the receiver is stopped (SIGSTOP)
 *    while the burst is sent and queues up, then resumed: `rawWsEventsPerSec` and `coreEventsPerSec` are
 *    how fast it drains that backlog (medians over the rounds), i.e. what the receiver can take when it
 *    sets the pace; `coreVsRawRatio` is the median per-round ratio. `*EventsPerCpuSec` are the same
 *    events per CPU-second the receiving process used meanwhile (user + system, GC included, /proc).
 * 2. End to end vs ceiling, in `rounds` alternating pairs (the machine is shared, so conditions drift; each
 *    pair is measured close together):
 *    - e2e: the worker process (redundancy 2, the default) receives a burst of `e2eEvents` events on both
 *      sessions and delivers them into fauxqs; time from the publish request until the queue holds them all.
 *      The burst fits the sink's memory buffer (10k entries), so this is the delivery rate, not the spool's.
 *    - ceiling: tools/bench/ceiling-client.ts, bundled and run as its own process exactly like the worker,
 *      sends the same number of messages straight to the same fauxqs process with SendMessageBatch: the
 *      same bodies (taken from the e2e queue), the same attributes, group ids and unique dedup ids (built
 *      by the worker's own toSqsEntry), batches of 10, the sink's default number of batches in flight
 *      (DEFAULT_MAX_IN_FLIGHT_BATCHES), an SQS client configured like the worker's; an unmeasured first
 *      pass warms it up, as the RSS phase warmed the worker up.
 *    Reported: the median e2e rate, the median ceiling rate, and the median of the per-pair ratios.
 * 3. RSS (before 2, so its bursts cannot inflate it): the worker process while the simulator generates
 *    `rssRatePerSec` (5,000) events/s on 5 topics, each delivered on both sessions, for `rssSampleMs`
 *    (68 s: longer than the de-dup window of 60 s plus its 10 % slack, so every bounded structure has
 *    reached its steady size). `rssMbAt5k` is the peak of samples of VmRSS taken every 250 ms;
 *    `rssPhaseDeliveredPerSec` is how fast messages reached the queue meanwhile (below the input rate
 *    would mean the sink was spilling to its spool, which would then be part of what is measured).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_WORKER_MEMORY_MIB, workerRuntimeEnvironment } from "../../shared/worker-runtime.ts";
import { bundleForNode, bundleWorker } from "../../tools/bench/bundle-worker.ts";
import type { CeilingSpec } from "../../tools/bench/ceiling-client.ts";
import { type FauxqsProcess, startFauxqsProcess } from "../../tools/bench/fauxqs-process-client.ts";
import { cpuSeconds, sampleRss } from "../../tools/bench/process-stats.ts";
import { type ReceiverProcess, startReceiverProcess } from "../../tools/bench/receiver-process-client.ts";
import { type SimProcess, startSimProcess } from "../../tools/bench/sim-process-client.ts";
import { stopChild } from "../../tools/bench/stop-child.ts";
import { freePort } from "../../tools/free-port.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../../tools/local/emulators.ts";
import { waitUntil } from "../../tools/wait-until.ts";
import { DEFAULT_MAX_IN_FLIGHT_BATCHES } from "../../worker/sink/sqs-sink.ts";

const TOPICS = ["v2.bench.a", "v2.bench.b", "v2.bench.c", "v2.bench.d", "v2.bench.e"];
// The raw client and the core get topics of their own, so a burst for one is not also received by the other.
const RAW_TOPICS = TOPICS.map((topic) => `${topic}.raw`);
const CORE_TOPICS = TOPICS.map((topic) => `${topic}.core`);
const WARM_UP_EVENTS = 10_000;
const CLIENTS = {
  raw: { clientId: "bench-raw", clientSecret: "bench-raw-secret" },
  core: { clientId: "bench-core", clientSecret: "bench-core-secret" },
  e2e: { clientId: "bench-e2e", clientSecret: "bench-e2e-secret" },
};
const E2E_QUEUE = "tokenstream-bench-e2e.fifo";

export interface ThroughputOptions {
  coreEvents?: number;
  e2eEvents?: number;
  rounds?: number;
  rssRatePerSec?: number;
  rssSampleMs?: number;
}

interface Rate {
  perWallSec: number;
  perCpuSec: number;
}

export async function runThroughput(options: ThroughputOptions = {}): Promise<Record<string, number>> {
  const coreEvents = options.coreEvents ?? 100_000;
  const e2eEvents = options.e2eEvents ?? 8_000;
  const rounds = options.rounds ?? 3;
  const sim = await startSimProcess(Object.values(CLIENTS));
  const fauxqs = await startFauxqsProcess();
  const spoolDir = mkdtempSync(join(tmpdir(), "tokenstream-throughput-"));
  const bundleDirs: string[] = [];
  let workerProcess: ChildProcess | undefined;
  try {
    const target = (client: { clientId: string; clientSecret: string }) => ({
      loginUrl: sim.loginUrl,
      apiUrl: sim.apiUrl,
      ...client,
      topics: TOPICS,
    });

    // 1. receive capacity: raw ws vs the worker core into a null sink, each in its own process, warmed up,
    // alternating rounds
    const receiver = (mode: "raw" | "core", client: { clientId: string; clientSecret: string }) =>
      startReceiverProcess({
        mode,
        ...target(client),
        topics: mode === "raw" ? RAW_TOPICS : CORE_TOPICS,
        spoolDir: join(spoolDir, mode),
      });
    const raw = await receiver("raw", CLIENTS.raw);
    const core = await receiver("core", CLIENTS.core).catch(async (error: unknown) => {
      await raw.close();
      throw error;
    });
    const rawRates: Rate[] = [];
    const coreRates: Rate[] = [];
    try {
      // The receiver is stopped (SIGSTOP) while the simulator sends the burst, which queues in the socket
      // and the simulator's send buffer; then it is resumed and timed while it drains that backlog. So the
      // receiver, not the sender, sets the pace, and it reads full socket buffers as it would under load.
      const burst = async (count: number, topics: string[], to: ReceiverProcess): Promise<Rate> => {
        const goal = (await to.received()) + count;
        process.kill(to.pid, "SIGSTOP");
        try {
          await sim.request({ cmd: "publish", count, topics });
        } finally {
          process.kill(to.pid, "SIGCONT");
        }
        const cpuBefore = cpuSeconds(to.pid);
        const started = performance.now();
        await waitUntil(async () => (await to.received()) >= goal, {
          timeoutMs: 120_000,
          what: `throughput: ${count} events received`,
          pollMs: 2,
        });
        const wallSec = (performance.now() - started) / 1000;
        return { perWallSec: count / wallSec, perCpuSec: count / (cpuSeconds(to.pid) - cpuBefore) };
      };
      await burst(WARM_UP_EVENTS, RAW_TOPICS, raw);
      await burst(WARM_UP_EVENTS, CORE_TOPICS, core);
      for (let round = 0; round < rounds; round++) {
        rawRates.push(await burst(coreEvents, RAW_TOPICS, raw));
        coreRates.push(await burst(coreEvents, CORE_TOPICS, core));
      }
    } finally {
      await Promise.all([raw.close(), core.close()]);
    }

    // The worker process, for 2 and 3
    const queueUrl = await fauxqs.createQueue(E2E_QUEUE, true);
    const bundle = await bundleWorker();
    bundleDirs.push(bundle.dir);
    const healthPort = await freePort();
    workerProcess = spawnWorkerProcess(bundle.file, sim, fauxqs, queueUrl, join(spoolDir, "e2e"), healthPort);
    const worker = workerProcess;
    await waitUntil(async () => (await sim.request({ cmd: "sockets" })) >= 2, {
      timeoutMs: 30_000,
      what: "throughput: worker live",
      pollMs: 100,
    });
    // 3. RSS at a sustained input rate, before the bursts of 2 (so they cannot inflate it)
    const rate = options.rssRatePerSec ?? 5_000;
    const rssSampleMs = options.rssSampleMs ?? 68_000;
    const rss = sampleRss(worker.pid as number);
    const queuedBefore = await fauxqs.count(E2E_QUEUE);
    const rssStarted = performance.now();
    await sim.request({ cmd: "rate", ratePerTopic: rate / TOPICS.length });
    await new Promise((resolve) => setTimeout(resolve, rssSampleMs));
    const queuedDuring = (await fauxqs.count(E2E_QUEUE)) - queuedBefore;
    const rssPhaseSec = (performance.now() - rssStarted) / 1000;
    await sim.request({ cmd: "rate", ratePerTopic: 0 });
    rss.stop();

    // 2. end to end (worker process) vs ceiling (ceiling client process), alternating
    const ceilingBundle = await bundleForNode(
      fileURLToPath(new URL("../../tools/bench/ceiling-client.ts", import.meta.url)),
    );
    bundleDirs.push(ceilingBundle.dir);
    const e2eRates: number[] = [];
    const ceilingRates: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const goal = (await settledCount(fauxqs, E2E_QUEUE)) + e2eEvents;
      const started = performance.now();
      void sim.request({ cmd: "publish", count: e2eEvents, topics: TOPICS });
      await waitUntil(async () => (await fauxqs.count(E2E_QUEUE)) >= goal, {
        timeoutMs: 120_000,
        what: "throughput: all events in the queue",
        pollMs: 20,
      });
      const e2e = e2eEvents / ((performance.now() - started) / 1000);
      const bodies = await fauxqs.bodies(E2E_QUEUE, 200);
      const ceiling = await measureCeiling(ceilingBundle.file, fauxqs, round, bodies, e2eEvents, spoolDir);
      e2eRates.push(e2e);
      ceilingRates.push(ceiling);
      ratios.push(e2e / ceiling);
    }

    return {
      "throughput.rawWsEventsPerSec": Math.round(median(rawRates.map((r) => r.perWallSec))),
      "throughput.coreEventsPerSec": Math.round(median(coreRates.map((r) => r.perWallSec))),
      "throughput.coreVsRawRatio": round2(
        median(coreRates.map((c, i) => c.perWallSec / rawRates[i]!.perWallSec)),
      ),
      "throughput.rawWsEventsPerCpuSec": Math.round(median(rawRates.map((r) => r.perCpuSec))),
      "throughput.coreEventsPerCpuSec": Math.round(median(coreRates.map((r) => r.perCpuSec))),
      "throughput.e2eEventsPerSec": Math.round(median(e2eRates)),
      "throughput.fauxqsCeilingPerSec": Math.round(median(ceilingRates)),
      "throughput.e2eVsCeilingRatio": round2(median(ratios)),
      "throughput.rssMbAt5k": Math.round(rss.peak()),
      "throughput.rssPhaseDeliveredPerSec": Math.round(queuedDuring / rssPhaseSec),
    };
  } finally {
    if (workerProcess) await stopChild(workerProcess, 15_000);
    await sim.close();
    await fauxqs.close();
    rmSync(spoolDir, { recursive: true, force: true });
    for (const dir of bundleDirs) rmSync(dir, { recursive: true, force: true });
  }
}

function spawnWorkerProcess(
  bundle: string,
  sim: SimProcess,
  fauxqs: FauxqsProcess,
  queueUrl: string,
  spoolDir: string,
  healthPort: number,
): ChildProcess {
  // The worker runs as a default-sized task runs it (NODE_OPTIONS from shared/worker-runtime.ts).
  // BENCH_WORKER_NODE_ARGS: extra node flags for profiling the worker (e.g. --cpu-prof); none by default.
  const nodeArgs = process.env.BENCH_WORKER_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  return spawn(process.execPath, [...nodeArgs, bundle], {
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      ...workerRuntimeEnvironment(DEFAULT_WORKER_MEMORY_MIB),
      SOURCE_KIND: "genesys",
      GENESYS_API_URL: sim.apiUrl,
      GENESYS_LOGIN_URL: sim.loginUrl,
      TOKEN_SOURCE: "direct",
      GENESYS_CLIENT_ID: CLIENTS.e2e.clientId,
      GENESYS_CLIENT_SECRET: CLIENTS.e2e.clientSecret,
      TOPICS: TOPICS.join(","),
      REDUNDANCY: "2",
      QUEUE_URL: queueUrl,
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL: fauxqs.address,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      HEALTH_PORT: String(healthPort),
      SPOOL_DIR: spoolDir,
      SHUTDOWN_TIMEOUT_MS: "10000",
      METRICS_INTERVAL_MS: "3600000",
      LOG_LEVEL: "ERROR",
    },
  });
}

/**
 * The ceiling client (tools/bench/ceiling-client.ts) in its own process, bundled and run like the worker:
 * the same number of messages from the same bodies, batches of 10, the sink's default number in flight.
 */
async function measureCeiling(
  ceilingBundle: string,
  fauxqs: FauxqsProcess,
  round: number,
  bodies: string[],
  count: number,
  workDir: string,
): Promise<number> {
  if (bodies.length === 0) throw new Error("no sample messages to size the ceiling run");
  const bodiesFile = join(workDir, `ceiling-bodies-${round}.json`);
  writeFileSync(bodiesFile, JSON.stringify(bodies));
  const queueName = `ceiling-${round}.fifo`;
  const spec: CeilingSpec = {
    endpoint: fauxqs.address,
    warmUpQueueUrl: await fauxqs.createQueue(`ceiling-warm-up-${round}.fifo`, true),
    queueUrl: await fauxqs.createQueue(queueName, true),
    bodiesFile,
    count,
    inFlight: DEFAULT_MAX_IN_FLIGHT_BATCHES,
  };
  const child = spawn(process.execPath, [ceilingBundle], {
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      CEILING_SPEC: JSON.stringify(spec),
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0) throw new Error(`ceiling client exited with ${code}`);
  const { perSec } = JSON.parse(out) as { perSec: number };
  const landed = await fauxqs.count(queueName);
  if (landed !== count) throw new Error(`ceiling run: ${landed} of ${count} messages in the queue`);
  return perSec;
}

/** The queue's message count once it has stopped growing (the worker has delivered its backlog). */
async function settledCount(fauxqs: FauxqsProcess, queueName: string): Promise<number> {
  let last = -1;
  for (let tries = 0; tries < 600; tries++) {
    const count = await fauxqs.count(queueName);
    if (count === last) return count;
    last = count;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error("throughput: the queue kept growing after the input stopped");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
