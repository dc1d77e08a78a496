import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ReceiverCommand, ReceiverReply, ReceiverSpec } from "./receiver-process.ts";
import { stopChild } from "./stop-child.ts";

export interface ReceiverProcess {
  pid: number;
  /** Events received so far. */
  received(): Promise<number>;
  close(): Promise<void>;
}

/** Forks tools/bench/receiver-process.ts (through tsx) and waits until it is connected. */
export async function startReceiverProcess(spec: ReceiverSpec): Promise<ReceiverProcess> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./receiver-process.ts", import.meta.url)), [], {
    // BENCH_RECEIVER_NODE_ARGS: extra node flags for profiling a receiver (e.g. --cpu-prof); none by default.
    execArgv: [
      "--import",
      "tsx",
      ...(process.env.BENCH_RECEIVER_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
    ],
    env: { ...process.env, RECEIVER_SPEC: JSON.stringify(spec) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const waiting = new Map<number, (value: number) => void>();
  let nextId = 1;
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      reject(new Error(`${spec.mode} receiver exited (${code}) before it was ready`)),
    );
    child.on("message", (message: ReceiverReply) => {
      if (message.type === "ready") resolve();
      else waiting.get(message.id)?.(message.value);
    });
  });
  return {
    pid: child.pid as number,
    received() {
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, (value) => {
          waiting.delete(id);
          resolve(value);
        });
        child.send({ cmd: "count", id } satisfies ReceiverCommand);
      });
    },
    close: () => stopChild(child, 5_000),
  };
}
