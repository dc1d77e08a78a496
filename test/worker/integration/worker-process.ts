/** Runs the real entry point worker/main.ts as a child process and captures everything it writes. */
import { type ChildProcess, spawn } from "node:child_process";
import type { WorkerStats } from "../../../worker/supervisor/stats.ts";

const REPO_ROOT = new URL("../../../", import.meta.url).pathname;

export interface WorkerProcess {
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  exited: Promise<number | null>;
  /** Sends the signal; resolves with the exit code and the ms it took to exit. */
  signal(sig: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

export const REPO = REPO_ROOT;

/** Default: the TypeScript entry point through tsx; `args` runs something else (e.g. the image's bundle). */
export function spawnWorker(
  env: Record<string, string>,
  args: string[] = ["--import", "tsx", "worker/main.ts"],
): WorkerProcess {
  const chunks: string[] = [];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // Only what is given: nothing from the test process (e.g. POWERTOOLS_METRICS_DISABLED) leaks in.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
  });
  child.stdout?.on("data", (d: Buffer) => chunks.push(d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => chunks.push(d.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => chunks.join(""),
    exited,
    async signal(sig) {
      const at = Date.now();
      child.kill(sig);
      const code = await exited;
      return { code, ms: Date.now() - at };
    },
  };
}

/** /healthz body of a worker process (undefined while it is not answering yet). */
export async function healthStats(port: number): Promise<WorkerStats | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return (await res.json()) as WorkerStats;
  } catch {
    return undefined;
  }
}

/** Every EMF record's metric names in the output. */
export function emfMetricNames(output: string): Set<string> {
  const names = new Set<string>();
  for (const line of output.split("\n")) {
    if (!line.startsWith("{") || !line.includes('"_aws"')) continue;
    try {
      const rec = JSON.parse(line) as { _aws?: { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } };
      for (const d of rec._aws?.CloudWatchMetrics ?? []) for (const m of d.Metrics ?? []) names.add(m.Name);
    } catch {
      // not JSON: ignore
    }
  }
  return names;
}
