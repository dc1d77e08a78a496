import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { SimulatedClient } from "../../sim/index.ts";
import type { SimProcessCommand, SimProcessReply } from "./sim-process.ts";
import { stopChild } from "./stop-child.ts";

type Command = SimProcessCommand extends infer C ? (C extends { id: number } ? Omit<C, "id"> : never) : never;

export interface SimProcess {
  loginUrl: string;
  apiUrl: string;
  pid: number;
  /** Sends a command; resolves with the child's reply value once it has been carried out. */
  request(command: Command): Promise<number>;
  close(): Promise<void>;
}

/** Forks tools/bench/sim-process.ts (through tsx) and waits until its simulator listens. */
export async function startSimProcess(clients: SimulatedClient[]): Promise<SimProcess> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./sim-process.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, SIM_CLIENTS: JSON.stringify(clients) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const waiting = new Map<number, (value: number) => void>();
  let nextId = 1;
  const ready = new Promise<{ loginUrl: string; apiUrl: string }>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`simulator process exited (${code}) before it was ready`)));
    child.on("message", (message: SimProcessReply) => {
      if (message.type === "ready") resolve(message);
      else waiting.get(message.id)?.(message.value);
    });
  });
  const { loginUrl, apiUrl } = await ready;
  return {
    loginUrl,
    apiUrl,
    pid: child.pid as number,
    request(command) {
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, (value) => {
          waiting.delete(id);
          resolve(value);
        });
        child.send({ ...command, id } as SimProcessCommand);
      });
    },
    close: () => stopChild(child, 5_000),
  };
}
