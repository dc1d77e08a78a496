/**
 * A simulator in its own process for throughput measurements, so the sender does not share an event loop
 * with the receiver being measured. Controlled over the fork IPC channel (see SimProcessCommand).
 */

import type { SimulatedClient } from "../../sim/index.ts";
import { startSimulator } from "../../sim/index.ts";

export type SimProcessCommand =
  | { cmd: "publish"; count: number; topics: string[]; id: number }
  | { cmd: "rate"; ratePerTopic: number; id: number }
  | { cmd: "sockets"; id: number }
  | { cmd: "close"; id: number };

export type SimProcessReply =
  | { type: "ready"; loginUrl: string; apiUrl: string }
  | { type: "done"; id: number; value: number };

const CHUNK = 2_000;

async function main(): Promise<void> {
  const clients = JSON.parse(process.env.SIM_CLIENTS ?? "[]") as SimulatedClient[];
  const sim = await startSimulator({ clients, tokenLifetimeSec: 3_600, heartbeatIntervalMs: 5_000, seed: 5 });
  const reply = (message: SimProcessReply) => process.send?.(message);
  process.on("message", (raw: SimProcessCommand) => {
    switch (raw.cmd) {
      case "publish": {
        let sent = 0;
        const step = () => {
          const end = Math.min(raw.count, sent + CHUNK);
          for (; sent < end; sent += 1) sim.publish(raw.topics[sent % raw.topics.length] as string);
          if (sent < raw.count) setImmediate(step);
          else reply({ type: "done", id: raw.id, value: sent });
        };
        step();
        break;
      }
      case "rate":
        if (raw.ratePerTopic > 0) sim.startGenerator(raw.ratePerTopic);
        else sim.stopGenerator();
        reply({ type: "done", id: raw.id, value: raw.ratePerTopic });
        break;
      case "sockets":
        reply({ type: "done", id: raw.id, value: sim.openSockets().length });
        break;
      case "close":
        void sim.close().then(() => {
          reply({ type: "done", id: raw.id, value: 0 });
          process.exit(0);
        });
        break;
    }
  });
  process.on("disconnect", () => void sim.close().then(() => process.exit(0)));
  reply({ type: "ready", loginUrl: sim.loginUrl, apiUrl: sim.apiUrl });
}

void main();
