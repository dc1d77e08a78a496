import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LatencyProxyOptions } from "./latency-proxy.ts";
import { stopChild } from "./stop-child.ts";

export interface LatencyProxyProcess {
  url: string;
  /** Answers held so far and their total hold (request in to answer out), in ms. */
  held(): Promise<{ answers: number; totalMs: number }>;
  close(): Promise<void>;
}

type Held = { answers: number; totalMs: number };

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
  const heldWaiters: ((held: Held) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`latency proxy exited (${code}) before it was ready`)));
    child.on("message", (message: { type: string; url: string; held: Held }) => {
      if (message.type === "ready") resolve(message.url);
      if (message.type === "held") heldWaiters.shift()?.(message.held);
    });
  });
  return {
    url,
    held: () =>
      new Promise<Held>((resolve) => {
        heldWaiters.push(resolve);
        child.send({ type: "held" });
      }),
    close: () => stopChild(child, 5_000),
  };
}
