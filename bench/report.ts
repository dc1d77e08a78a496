/** Turns scenario outcomes into `bench/results/latest.json` and a markdown table. Pure: no I/O. */
import { type Align, renderMarkdownTable } from "../tools/text-table.ts";

export type BenchFields = Record<string, number>;

export interface ScenarioOutcome {
  name: string;
  status: "ok" | "failed";
  durationMs: number;
  /** Present when failed: the error message (never a token: scenarios only report numbers and messages). */
  error?: string;
  fields: BenchFields;
}

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  memoryMb: number;
  node: string;
  platform: string;
}

/** latest.json: every metric as a top-level dotted field (`soak.lost`), plus machine, timestamp and per-scenario status. */
export interface BenchReport {
  timestamp: string;
  machine: MachineInfo;
  scenarios: Record<string, { status: "ok" | "failed"; durationMs: number; error?: string }>;
  [field: string]: unknown;
}

export interface Goal {
  op: "==" | "<=" | ">=" | "<";
  value: number;
}

/** The targets the issues set; a field without a goal is reported as measured. */
export const GOALS: Record<string, Goal> = {
  "soak.lostUncovered": { op: "==", value: 0 },
  "soak.duplicatesInQueue": { op: "==", value: 0 },
  "soak.published": { op: ">=", value: 100_000 },
  "soak.rotations": { op: ">=", value: 20 },
  "chaos.lostUncovered": { op: "==", value: 0 },
  // Copies the worker marked possibleDuplicate are its documented at-least-once answer where it cannot tell
  // a copy from a distinct repeat (reported as chaos.duplicatesMarkedPossible); unmarked ones must not exist.
  "chaos.unmarkedDuplicatesInQueue": { op: "==", value: 0 },
  // Identical events lost inside a recorded gap (e.g. a forbidden topic's window) are covered losses like
  // any other; none may be lost outside one.
  "chaos.identicalMissingUncovered": { op: "==", value: 0 },
  "chaos.published": { op: ">=", value: 100_000 },
  "chaos.produceSeconds": { op: ">=", value: 180 },
  "chaos.faultKindsBelowTwice": { op: "==", value: 0 },
  "throughput.coreVsRawRatio": { op: ">=", value: 0.5 },
  "throughput.e2eVsCeilingRatio": { op: ">=", value: 0.8 },
  "throughput.rssMbAt5k": { op: "<", value: 200 },
  "broker.idpCallsPerRotation": { op: "==", value: 1 },
  "broker.idpCallsPerRefreshStampede": { op: "==", value: 1 },
  "broker.concurrentRequests": { op: ">=", value: 1000 },
  "sink.e2eAt20msEventsPerSec": { op: ">=", value: 10_000 },
  "sink.hotTopicAt20msEventsPerSec": { op: ">=", value: 450 },
  "sink.hotTopicVsBound": { op: ">=", value: 0.9 },
  "sink.rssMbOverload": { op: "<", value: 300 },
  "sink.overloadBacklogMessages": { op: ">=", value: 1 },
  "sink.overloadLost": { op: "==", value: 0 },
  "scale.shards": { op: ">=", value: 3 },
  "scale.topics": { op: ">=", value: 3_000 },
  "scale.lostUncovered": { op: "==", value: 0 },
};

export function meetsGoal(value: number, goal: Goal): boolean {
  switch (goal.op) {
    case "==":
      return value === goal.value;
    case "<=":
      return value <= goal.value;
    case ">=":
      return value >= goal.value;
    case "<":
      return value < goal.value;
  }
}

/** Scenario modules may return `{ lost: 0 }` or `{ "soak.lost": 0 }`; both become `soak.lost`. */
export function qualifyFields(prefix: string, fields: Record<string, unknown>): BenchFields {
  const out: BenchFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    out[key.includes(".") ? key : `${prefix}.${key}`] = value;
  }
  return out;
}

export function buildReport(
  outcomes: readonly ScenarioOutcome[],
  machine: MachineInfo,
  timestamp: string,
): BenchReport {
  const report: BenchReport = { timestamp, machine, scenarios: {} };
  for (const outcome of outcomes) {
    report.scenarios[outcome.name] = {
      status: outcome.status,
      durationMs: Math.round(outcome.durationMs),
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
    };
    for (const [field, value] of Object.entries(outcome.fields)) report[field] = value;
  }
  return report;
}

export function renderMarkdown(
  outcomes: readonly ScenarioOutcome[],
  machine: MachineInfo,
  timestamp: string,
): string {
  const rows: string[][] = [];
  for (const outcome of outcomes) {
    if (outcome.status === "failed") {
      rows.push([outcome.name, "(scenario failed)", outcome.error ?? "unknown error", "", "FAILED"]);
      continue;
    }
    for (const [field, value] of Object.entries(outcome.fields)) {
      const goal = GOALS[field];
      rows.push([
        outcome.name,
        field,
        formatValue(value),
        goal ? `${goal.op} ${formatValue(goal.value)}` : "",
        goal ? (meetsGoal(value, goal) ? "ok" : "MISSED") : "",
      ]);
    }
  }
  const align: Align[] = ["left", "left", "right", "left", "left"];
  const header =
    `Benchmark ${timestamp} on ${machine.cpuCount} x ${machine.cpuModel}, ` +
    `${Math.round(machine.memoryMb / 1024)} GB, Node ${machine.node}`;
  return `${header}\n\n${renderMarkdownTable(["scenario", "field", "value", "goal", ""], rows, align)}\n`;
}

function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
}
