/**
 * How Node runs the worker, from its task's memory: the one source for the ECS task definition
 * (lib/shard-service.ts sets it as the container's environment) and for the benchmarks that run the bundled
 * worker or its sink as a process (bench/), so what is measured is what is deployed.
 *
 * Why the heap is configured at all: V8 sizes its young generation from the memory it sees, not from what
 * the worker keeps. On a host with a lot of memory it lets the two semi-spaces grow to 64 MiB each, and a
 * worker receiving thousands of events a second touches all of that before scavenging: 128 MiB of resident
 * memory that is mostly garbage (the worker's live data is tens of MiB; the sink bounds its memory by
 * design: 10,000 entries / 16 MiB, then the spool). Small semi-spaces keep the garbage from piling up; the
 * old generation is capped from the task's memory so that V8 collects harder, or stops with a heap error the
 * task restarts from (the spool survives), before the container reaches its hard limit and is killed.
 *
 * Outside the heap, glibc's malloc (the image is Debian) keeps up to 8 arenas per core, one per thread that
 * allocated; socket and request buffers freed by the main thread and V8's helper threads stay resident in
 * each of them. Two arenas roughly halve that native part under load.
 */

/** Memory of a worker task when the config sets none (`workerMemoryMiB`). */
export const DEFAULT_WORKER_MEMORY_MIB = 1024;

/** Each of the young generation's two semi-spaces, in MiB: 8 takes a scavenge every few milliseconds at 10k events/s. */
export const WORKER_SEMI_SPACE_MIB = 8;

/**
 * What the old generation may grow to in a task of `memoryMiB`: half of it. The other half holds the young
 * generation (3 semi-spaces' worth), Node's binary and native memory (about 50 and 60-100 MiB), socket and
 * request buffers outside the heap (up to about 60 MiB under load) and the page cache the spool writes through.
 */
export function workerOldSpaceMiB(memoryMiB: number): number {
  if (!Number.isInteger(memoryMiB) || memoryMiB < 512) {
    throw new RangeError(`a worker task has at least 512 MiB of memory, got ${memoryMiB}`);
  }
  return Math.floor(memoryMiB / 2);
}

/** NODE_OPTIONS of the worker in a task of `memoryMiB`. */
export function workerNodeOptions(memoryMiB: number): string {
  return [
    "--enable-source-maps",
    `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`,
    `--max-old-space-size=${workerOldSpaceMiB(memoryMiB)}`,
  ].join(" ");
}

/** glibc malloc arenas the worker's threads share. */
export const WORKER_MALLOC_ARENAS = 2;

/** The environment variables that set up the worker's runtime in a task of `memoryMiB`. */
export function workerRuntimeEnvironment(memoryMiB: number): {
  NODE_OPTIONS: string;
  MALLOC_ARENA_MAX: string;
} {
  return { NODE_OPTIONS: workerNodeOptions(memoryMiB), MALLOC_ARENA_MAX: String(WORKER_MALLOC_ARENAS) };
}
