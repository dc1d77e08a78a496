import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LatencyProxyOptions } from "./latency-proxy.ts";
import { stopChild } from "./stop-child.ts";

export interface LatencyProxyProcess {
  url: string;
  close(): Promise<void>;
}

/** Forks tools/bench/latency-proxy-process.ts (through tsx) and waits until it listens. */
export async function startLatencyProxyProcess(spec: LatencyProxyOptions): Promise<LatencyProxyProcess> {
  const child: ChildProcess = fork(
    fileURLToPath(new URL("./latency-proxy-process.ts", import.meta.url)),
    [],
    {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, LATENCY_PROXY_SPEC: JSON.stringify(spec) },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`latency proxy exited (${code}) before it was ready`)));
    child.on("message", (message: { type: string; url: string }) => {
      if (message.type === "ready") resolve(message.url);
    });
  });
  return { url, close: () => stopChild(child, 5_000) };
}
