/**
 * Container entry point: validate the environment, start the worker, and on SIGTERM/SIGINT stop
 * rotating, close sockets, drain the sink and exit 0 within SHUTDOWN_TIMEOUT_MS (under ECS stopTimeout).
 * Exit codes: 0 drained, 1 not drained by the deadline (the rest stays in the spool) or failed, 2 bad config.
 */

import { S3Client } from "@aws-sdk/client-s3";
import { type RunningWorker, startWorker } from "./app.ts";
import { ConfigError, loadWorkerConfig, type WorkerConfig } from "./config.ts";
import { loadTopics } from "./topic-loader.ts";

function shutdown(worker: RunningWorker, config: WorkerConfig, signal: NodeJS.Signals): void {
  const deadline = Date.now() + config.shutdownTimeoutMs;
  // Hard stop if draining hangs: exit non-zero rather than be SIGKILLed mid-write.
  const guard = setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5_000);
  guard.unref();
  worker.stop(deadline).then(
    (result) => {
      process.stdout.write(
        `${JSON.stringify({ message: "shutdown complete", signal, drained: result.drained, remaining: result.remaining })}\n`,
      );
      process.exit(result.drained ? 0 : 1);
    },
    () => process.exit(1),
  );
}

async function main(): Promise<void> {
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig();
    if (config.topicsSource && config.topicsSource.kind !== "env") {
      const s3 = new S3Client({
        region: config.region,
        ...(config.awsEndpointUrl ? { endpoint: config.awsEndpointUrl, forcePathStyle: true } : {}),
      });
      config = await loadTopics(config, { s3 });
      s3.destroy();
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Listen before starting: a signal during start-up is honoured once the worker exists, not lost.
  let worker: RunningWorker | undefined;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = signal;
    if (worker) shutdown(worker, config, signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  worker = await startWorker(config);
  if (signalled) shutdown(worker, config, signalled);
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.name : "unknown"}\n`);
  process.exit(1);
});
