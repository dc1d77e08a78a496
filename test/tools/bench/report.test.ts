import { describe, expect, it } from "vitest";
import {
  buildReport,
  GOALS,
  type MachineInfo,
  meetsGoal,
  qualifyFields,
  renderMarkdown,
  type ScenarioOutcome,
} from "../../../bench/report.ts";

const machine: MachineInfo = {
  cpuModel: "Test CPU",
  cpuCount: 2,
  memoryMb: 4096,
  node: "v20.0.0",
  platform: "linux-x64",
};
const at = "2026-11-23T10:00:00.000Z";
const outcomes: ScenarioOutcome[] = [
  {
    name: "soak",
    status: "ok",
    durationMs: 90_123.4,
    fields: {
      "soak.published": 100_500,
      "soak.lostUncovered": 0,
      "baseline.lost": 812,
      "soak.rotations": 19,
    },
  },
  { name: "throughput", status: "failed", durationMs: 5_000, error: "worker did not start", fields: {} },
];

describe("bench report", () => {
  it("qualifies bare field names with the scenario prefix and drops non-numbers", () => {
    expect(qualifyFields("broker", { p50Ms: 3.2, "broker.p99Ms": 9, note: "x", bad: Number.NaN })).toEqual({
      "broker.p50Ms": 3.2,
      "broker.p99Ms": 9,
    });
  });

  it("latest.json: dotted fields at the top level, machine, timestamp, per-scenario status", () => {
    const report = buildReport(outcomes, machine, at);
    expect(report).toEqual({
      timestamp: at,
      machine,
      scenarios: {
        soak: { status: "ok", durationMs: 90_123 },
        throughput: { status: "failed", durationMs: 5_000, error: "worker did not start" },
      },
      "soak.published": 100_500,
      "soak.lostUncovered": 0,
      "baseline.lost": 812,
      "soak.rotations": 19,
    });
  });

  it("markdown: one row per field with its goal, failed scenarios as a row", () => {
    const lines = renderMarkdown(outcomes, machine, at).trimEnd().split("\n");
    expect(lines[0]).toBe(`Benchmark ${at} on 2 x Test CPU, 4 GB, Node v20.0.0`);
    expect(lines).toContain("| soak | soak.lostUncovered | 0 | == 0 | ok |");
    expect(lines).toContain("| soak | soak.rotations | 19 | >= 20 | MISSED |");
    expect(lines).toContain("| soak | baseline.lost | 812 |  |  |");
    expect(lines).toContain("| throughput | (scenario failed) | worker did not start |  | FAILED |");
  });

  it("goals compare as documented", () => {
    expect(meetsGoal(0.81, GOALS["throughput.e2eVsCeilingRatio"]!)).toBe(true);
    expect(meetsGoal(0.79, GOALS["throughput.e2eVsCeilingRatio"]!)).toBe(false);
    expect(meetsGoal(199, GOALS["throughput.rssMbAt5k"]!)).toBe(true);
    expect(meetsGoal(200, GOALS["throughput.rssMbAt5k"]!)).toBe(false);
  });
});
