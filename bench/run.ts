/**
 * `npm run bench`: runs each scenario in its own child process (a crash, hang or leak in one cannot skew or
 * stop the others), prints a markdown table and writes bench/results/latest.json.
 *   npm run bench                         all scenarios
 *   npm run bench -- --only soak          one (or a comma list)
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import {
  type BenchFields,
  buildReport,
  type MachineInfo,
  qualifyFields,
  renderMarkdown,
  type ScenarioOutcome,
} from "./report.ts";

interface ScenarioSpec {
  name: string;
  /** Module under bench/scenarios and the function it exports. */
  file: string;
  exportName: string;
  prefixes: string[];
  timeoutMs: number;
}

export const SCENARIOS: ScenarioSpec[] = [
  {
    name: "broker-stampede",
    file: "broker-stampede.ts",
    exportName: "runBrokerStampede",
    prefixes: ["broker"],
    timeoutMs: 60_000,
  },
  {
    name: "soak",
    file: "soak.ts",
    exportName: "runSoak",
    prefixes: ["soak", "baseline"],
    timeoutMs: 180_000,
  },
  {
    name: "chaos",
    file: "chaos.ts",
    exportName: "runChaos",
    prefixes: ["chaos"],
    // At least 3 minutes of chaos, then up to ~1.5 minutes to settle and drain.
    timeoutMs: 420_000,
  },
  {
    name: "throughput",
    file: "throughput.ts",
    exportName: "runThroughput",
    prefixes: ["throughput"],
    // About 80 s: the RSS phase must outlast the 60 s de-dup window.
    timeoutMs: 150_000,
  },
  {
    name: "sink",
    file: "sink.ts",
    exportName: "runSink",
    prefixes: ["sink"],
    // Two 10 s rate phases, then 60 s of overload and its drain.
    timeoutMs: 600_000,
  },
  {
    name: "scale",
    file: "scale.ts",
    exportName: "runScale",
    prefixes: ["scale"],
    timeoutMs: 240_000,
  },
  {
    name: "restart",
    file: "restart.ts",
    exportName: "runRestart",
    prefixes: ["restart"],
    // About 2 minutes: 90 s of traffic with a 60 s SQS outage and three SIGKILLs, then the drain.
    timeoutMs: 240_000,
  },
];

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, "results");

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: "string" }, child: { type: "string" }, result: { type: "string" } },
  });
  if (values.child) return runChild(values.child, values.result);

  const selected = selectScenarios(values.only);
  const outcomes: ScenarioOutcome[] = [];
  for (const spec of selected) {
    process.stderr.write(`[bench] ${spec.name} ...\n`);
    const outcome = await runIsolated(spec);
    process.stderr.write(
      `[bench] ${spec.name} ${outcome.status} in ${(outcome.durationMs / 1000).toFixed(1)} s` +
        `${outcome.error ? `: ${outcome.error}` : ""}\n`,
    );
    outcomes.push(outcome);
  }
  const timestamp = new Date().toISOString();
  const machine = machineInfo();
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, "latest.json"),
    `${JSON.stringify(buildReport(outcomes, machine, timestamp), null, 2)}\n`,
  );
  process.stdout.write(renderMarkdown(outcomes, machine, timestamp));
  process.stdout.write(`\nWritten: ${join("bench", "results", "latest.json")}\n`);
  return outcomes.every((outcome) => outcome.status === "ok") ? 0 : 1;
}

function selectScenarios(only: string | undefined): ScenarioSpec[] {
  if (!only) return SCENARIOS;
  const names = only.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !SCENARIOS.some((spec) => spec.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`,
    );
  }
  return SCENARIOS.filter((spec) => names.includes(spec.name));
}

/** Runs one scenario in a child `node --import tsx bench/run.ts --child <name>`; the result comes back in a file. */
async function runIsolated(spec: ScenarioSpec): Promise<ScenarioOutcome> {
  const dir = mkdtempSync(join(tmpdir(), "tokenstream-bench-"));
  const resultFile = join(dir, "result.json");
  const started = performance.now();
  try {
    const exit = await new Promise<{
      code: number | null;
      signal: string | null;
      timedOut: boolean;
      stderr: string;
    }>((resolve) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", fileURLToPath(import.meta.url), "--child", spec.name, "--result", resultFile],
        { stdio: ["ignore", "inherit", "pipe"], env: { ...process.env, TOKENSTREAM_BENCH_CHILD: "1" } },
      );
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4_000);
        process.stderr.write(chunk);
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, spec.timeoutMs);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, timedOut, stderr });
      });
    });
    const durationMs = performance.now() - started;
    if (exit.timedOut) return failed(spec, durationMs, `timed out after ${spec.timeoutMs / 1000} s`);
    let result: { ok: boolean; fields?: Record<string, unknown>; error?: string };
    try {
      result = JSON.parse(readFileSync(resultFile, "utf8"));
    } catch {
      const tail = exit.stderr.trim().split("\n").slice(-1)[0] ?? "";
      return failed(
        spec,
        durationMs,
        `exited (code ${exit.code}, signal ${exit.signal}) without a result ${tail}`.trim(),
      );
    }
    if (!result.ok) return failed(spec, durationMs, result.error ?? "failed");
    return {
      name: spec.name,
      status: "ok",
      durationMs,
      fields: qualifyFields(spec.prefixes[0] as string, result.fields ?? {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function failed(spec: ScenarioSpec, durationMs: number, error: string): ScenarioOutcome {
  return { name: spec.name, status: "failed", durationMs, error, fields: {} };
}

async function runChild(name: string, resultFile: string | undefined): Promise<number> {
  const spec = SCENARIOS.find((candidate) => candidate.name === name);
  if (!spec || !resultFile) throw new Error(`bad child invocation for "${name}"`);
  let result: { ok: boolean; fields?: BenchFields; error?: string };
  try {
    // Loaded by path at run time: a scenario module that is missing or broken fails only its own scenario.
    const module = (await import(pathToFileURL(join(here, "scenarios", spec.file)).href)) as Record<
      string,
      unknown
    >;
    const run = module[spec.exportName];
    if (typeof run !== "function") throw new Error(`${spec.file} does not export ${spec.exportName}()`);
    const fields = (await run()) as Record<string, unknown>;
    result = { ok: true, fields: qualifyFields(spec.prefixes[0] as string, fields) };
  } catch (error) {
    result = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  writeFileSync(resultFile, JSON.stringify(result));
  return result.ok ? 0 : 1;
}

function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? "unknown",
    cpuCount: list.length,
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

main(process.argv.slice(2)).then(
  (code) => {
    // Scenario code may leave handles open; the exit code is known, so end here.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
