/**
 * Starts a local moto server (Secrets Manager, DynamoDB, ...) as `python3 -m moto.server` on a free
 * 127.0.0.1 port. Shared by the vitest global setup (test/setup/moto.ts) and benchmark scenarios.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "../../tools/free-port.ts";

export const MOTO_INSTALL_HINT =
  'moto server is required: install it with  pip install "moto[server]"  (for the python3 on PATH)';

export interface MotoServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * `python3 -m moto.server` with a watchdog thread: when the Node process that started it dies without
 * stopping it (SIGKILL by a bench timeout, a killed vitest), the server is reparented and exits instead
 * of lingering on its port.
 */
const LAUNCHER = [
  "import os, runpy, sys, threading, time",
  "parent = os.getppid()",
  "def watch():",
  "    while os.getppid() == parent:",
  "        time.sleep(0.5)",
  "    os._exit(0)",
  "threading.Thread(target=watch, daemon=True).start()",
  "sys.argv = ['moto.server'] + sys.argv[1:]",
  "runpy.run_module('moto.server', run_name='__main__', alter_sys=True)",
].join("\n");

/** The server at `url` answers its management API. */
export async function motoAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}

export interface MotoServerOptions {
  /** Python interpreter with `moto[server]` installed (default `python3` on PATH). */
  python?: string;
  startTimeoutMs?: number;
}

export async function startMotoServer(options: MotoServerOptions = {}): Promise<MotoServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const python = options.python ?? "python3";
  const child: ChildProcess = spawn(python, ["-c", LAUNCHER, "-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString("utf8");
  });
  let failure: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("error", (error) => {
      failure = `could not run ${python} (${error.message})`;
      resolve();
    });
    child.once("exit", (code, signal) => {
      failure ??= `moto server exited (code ${code}, signal ${signal})`;
      resolve();
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null && failure === undefined;
  const stop = async () => {
    if (!running()) return;
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };

  const deadline = Date.now() + startTimeoutMs;
  while (!(await motoAnswers(endpoint))) {
    if (failure !== undefined) {
      const missing = /No module named|could not run /.test(`${failure}\n${stderr}`);
      throw new Error(
        `${missing ? MOTO_INSTALL_HINT : "moto server failed to start"}\n${failure}\n${stderr.trim()}`,
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `moto server did not answer on ${endpoint} within ${startTimeoutMs / 1000} s\n` +
          `${stderr.trim()}\n${MOTO_INSTALL_HINT}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { endpoint, stop };
}
