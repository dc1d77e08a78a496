/** CPU time and resident memory of a process, read from /proc (Linux). */
import { readFileSync } from "node:fs";

const CLOCK_TICKS_PER_SEC = 100;

/** User + system CPU seconds the process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
}

/** Resident set size in MiB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  if (!Number.isFinite(kb)) throw new Error(`could not read the RSS of process ${pid} (/proc)`);
  return kb / 1024;
}

/** Samples `rssMb(pid)` every `everyMs` until stopped; `peak` is the largest sample. */
export function sampleRss(pid: number, everyMs = 250): { peak(): number; last(): number; stop(): void } {
  let peak = 0;
  let last = 0;
  const take = (): void => {
    try {
      last = rssMb(pid);
      peak = Math.max(peak, last);
    } catch {
      // The process is gone: keep what was sampled.
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    peak: () => peak,
    last: () => last,
    stop: () => {
      clearInterval(timer);
      take();
    },
  };
}
