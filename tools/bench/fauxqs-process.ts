/**
 * fauxqs in its own process for throughput measurements: the SQS emulator then never shares an event loop
 * with the client being measured (the worker process, or the ceiling client), so both are placed alike.
 * Controlled over the fork IPC channel (see FauxqsProcessCommand).
 */
import { startFauxqs } from "fauxqs";

export type FauxqsProcessCommand =
  /** Messages held by the queue (ready + in flight; nothing here sends with a delay). */
  | { cmd: "count"; name: string; id: number }
  /** Message bodies held by the queue, first `limit`. */
  | { cmd: "bodies"; name: string; limit: number; id: number };

export type FauxqsProcessReply =
  | { type: "ready"; address: string }
  | { type: "done"; id: number; value: unknown };

async function main(): Promise<void> {
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const reply = (message: FauxqsProcessReply) => process.send?.(message);
  const held = (name: string) => {
    const queue = fauxqs.inspectQueue(name);
    if (!queue) return [];
    return [
      ...queue.messages.ready,
      ...queue.messages.delayed,
      ...queue.messages.inflight.map((e) => e.message),
    ];
  };
  process.on("message", (raw: FauxqsProcessCommand) => {
    switch (raw.cmd) {
      case "count":
        // The emulator's own listing sums the queue's group lengths; inspectQueue would copy every message.
        void fetch(`${fauxqs.address}/_fauxqs/queues`)
          .then(
            (response) =>
              response.json() as Promise<
                Array<{ name: string; approximateMessageCount: number; approximateInflightCount: number }>
              >,
          )
          .then((queues) => {
            const queue = queues.find((q) => q.name === raw.name);
            const count = queue ? queue.approximateMessageCount + queue.approximateInflightCount : 0;
            reply({ type: "done", id: raw.id, value: count });
          });
        break;
      case "bodies":
        reply({
          type: "done",
          id: raw.id,
          value: held(raw.name)
            .slice(0, raw.limit)
            .map((m) => m.body),
        });
        break;
    }
  });
  process.on("disconnect", () => void fauxqs.stop().then(() => process.exit(0)));
  process.on("SIGTERM", () => void fauxqs.stop().then(() => process.exit(0)));
  reply({ type: "ready", address: fauxqs.address });
}

void main();
