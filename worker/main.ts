/**
 * Container entry point: validate the environment, start the worker, and on SIGTERM/SIGINT stop
 * rotating, close sockets, drain the sink and exit 0 within SHUTDOWN_TIMEOUT_MS (under ECS stopTimeout).
 */
import { startWorker } from "./app.ts";
import { ConfigError, loadWorkerConfig } from "./config.ts";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadWorkerConfig>;
  try {
    config = loadWorkerConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const worker = await startWorker(config);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
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
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.name : "unknown"}\n`);
  process.exit(1);
});
