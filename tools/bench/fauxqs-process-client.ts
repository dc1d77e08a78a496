import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../local/emulators.ts";
import type { FauxqsProcessCommand, FauxqsProcessReply } from "./fauxqs-process.ts";
import { stopChild } from "./stop-child.ts";

type Command = FauxqsProcessCommand extends infer C
  ? C extends { id: number }
    ? Omit<C, "id">
    : never
  : never;

export interface FauxqsProcess {
  /** SQS endpoint, e.g. http://127.0.0.1:port */
  address: string;
  pid: number;
  createQueue(name: string, fifo: boolean): Promise<string>;
  /** Messages the queue holds. */
  count(name: string): Promise<number>;
  bodies(name: string, limit: number): Promise<string[]>;
  close(): Promise<void>;
}

/** Forks tools/bench/fauxqs-process.ts (through tsx) and waits until fauxqs listens. */
export async function startFauxqsProcess(): Promise<FauxqsProcess> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./fauxqs-process.ts", import.meta.url)), [], {
    // BENCH_FAUXQS_NODE_ARGS: extra node flags for profiling fauxqs (e.g. --cpu-prof); none by default.
    execArgv: ["--import", "tsx", ...(process.env.BENCH_FAUXQS_NODE_ARGS?.split(" ").filter(Boolean) ?? [])],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const waiting = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  const ready = new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`fauxqs process exited (${code}) before it was ready`)));
    child.on("message", (message: FauxqsProcessReply) => {
      if (message.type === "ready") resolve(message.address);
      else waiting.get(message.id)?.(message.value);
    });
  });
  const address = await ready;
  const request = <T>(command: Command): Promise<T> => {
    const id = nextId++;
    return new Promise((resolve) => {
      waiting.set(id, (value) => {
        waiting.delete(id);
        resolve(value as T);
      });
      child.send({ ...command, id } as FauxqsProcessCommand);
    });
  };
  return {
    address,
    pid: child.pid as number,
    async createQueue(name, fifo) {
      const sqs = new SQSClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: address });
      try {
        const { QueueUrl } = await sqs.send(
          new CreateQueueCommand({
            QueueName: name,
            Attributes: fifo ? { FifoQueue: "true", ContentBasedDeduplication: "false" } : {},
          }),
        );
        return QueueUrl as string;
      } finally {
        sqs.destroy();
      }
    },
    count: (name) => request<number>({ cmd: "count", name }),
    bodies: (name, limit) => request<string[]>({ cmd: "bodies", name, limit }),
    close: () => stopChild(child, 5_000),
  };
}
