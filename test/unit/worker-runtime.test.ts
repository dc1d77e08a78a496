import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_WORKER_MEMORY_MIB,
  WORKER_SEMI_SPACE_MIB,
  workerNodeOptions,
  workerOldSpaceMiB,
  workerRuntimeEnvironment,
} from "../../shared/worker-runtime.ts";

const MIB = 1_048_576;

/** Runs `script` in the Node the project pins, with the worker's runtime environment for `memoryMiB`. */
function runAsWorker(memoryMiB: number, script: string): Record<string, number> {
  const out = execFileSync(process.execPath, ["-e", script], {
    env: { PATH: process.env.PATH ?? "", ...workerRuntimeEnvironment(memoryMiB) },
    encoding: "utf8",
  });
  return JSON.parse(out) as Record<string, number>;
}

describe("the worker's runtime settings", () => {
  it("give the old generation half of the task's memory", () => {
    expect(workerOldSpaceMiB(512)).toBe(256);
    expect(workerOldSpaceMiB(DEFAULT_WORKER_MEMORY_MIB)).toBe(512);
    expect(workerOldSpaceMiB(3072)).toBe(1536);
    expect(() => workerOldSpaceMiB(256)).toThrow(RangeError);
    expect(() => workerOldSpaceMiB(1024.5)).toThrow(RangeError);
  });

  it("are flags the pinned Node accepts, and its heap limit stays within the task's memory", () => {
    for (const memoryMiB of [512, DEFAULT_WORKER_MEMORY_MIB, 4096]) {
      const { limit } = runAsWorker(
        memoryMiB,
        'process.stdout.write(JSON.stringify({ limit: require("node:v8").getHeapStatistics().heap_size_limit }))',
      );
      // Old generation + young generation (V8 reserves three semi-spaces' worth for it).
      expect(limit, `${memoryMiB} MiB`).toBeLessThanOrEqual(
        (memoryMiB / 2 + 3 * WORKER_SEMI_SPACE_MIB) * MIB,
      );
      expect(limit, `${memoryMiB} MiB`).toBeGreaterThanOrEqual((memoryMiB / 2) * MIB);
    }
  });

  it("keep the young generation small however much garbage is made", () => {
    // Short-lived objects at a high rate, as the worker makes them per event: without the flag V8 lets each
    // semi-space grow to 64 MiB on a host with this much memory.
    const { newSpace } = runAsWorker(
      DEFAULT_WORKER_MEMORY_MIB,
      `let keep = [];
       for (let i = 0; i < 3e6; i++) { keep.push({ i, s: "event-" + i }); if (keep.length > 2e5) keep = []; }
       const space = require("node:v8").getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
       process.stdout.write(JSON.stringify({ newSpace: space.space_size }));`,
    );
    expect(newSpace).toBeLessThanOrEqual(2 * WORKER_SEMI_SPACE_MIB * MIB);
  });

  it("set NODE_OPTIONS and the malloc arenas together", () => {
    expect(workerRuntimeEnvironment(2048)).toEqual({
      NODE_OPTIONS: workerNodeOptions(2048),
      MALLOC_ARENA_MAX: "2",
    });
    expect(workerNodeOptions(2048).split(" ")).toEqual([
      "--enable-source-maps",
      `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`,
      "--max-old-space-size=1024",
    ]);
  });
});
