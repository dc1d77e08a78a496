import { describe, expect, it } from "vitest";
import { formatSummaryTable, goalMet, type RunSummary, verdict } from "../../../tools/local/summary.ts";

const summary: RunSummary = {
  durationMs: 61_234,
  published: 12_345,
  delivered: 12_345,
  lost: 0,
  lostCoveredByGap: 0,
  lostUncovered: 0,
  duplicates: 0,
  rotations: 7,
  idpCalls: 9,
  gaps: 0,
  gapMs: 0,
};

describe("summary table", () => {
  it("one row per figure, values right-aligned", () => {
    const lines = formatSummaryTable(summary).split("\n");
    expect(lines[0]).toMatch(/^metric\s+value$/);
    expect(lines.slice(2)).toEqual([
      "duration                   61.2 s",
      "events published           12,345",
      "events delivered           12,345",
      "events lost                     0",
      "lost inside recorded gaps       0",
      "lost uncovered (goal 0)         0",
      "duplicates in queue             0",
      "rotations                       7",
      "IdP calls                       9",
      "gaps                            0",
      "gap ms                          0",
    ]);
  });

  it("shows the worker's dropped copies and the injected faults when measured", () => {
    const table = formatSummaryTable({ ...summary, duplicatesDropped: 12_001, socketClosings: 4, drops: 1 });
    const lines = table.split("\n");
    expect(lines).toContain("duplicates dropped by worker  12,001");
    expect(lines.at(-2)).toMatch(/^socket_closing sent\s+4$/);
    expect(lines.at(-1)).toMatch(/^abrupt drops\s+1$/);
  });

  it("says n/a where there is no ledger (real org)", () => {
    const real = {
      ...summary,
      published: undefined,
      lost: undefined,
      lostCoveredByGap: undefined,
      lostUncovered: undefined,
    };
    const table = formatSummaryTable(real);
    expect(table).toMatch(/events published\s+n\/a/);
    expect(table).toMatch(/events lost\s+n\/a/);
    expect(table).toMatch(/lost uncovered \(goal 0\)\s+n\/a/);
    expect(verdict(real)).toContain("no simulator ledger");
    expect(goalMet(real)).toBeUndefined();
  });

  it("verdict: loss inside recorded gaps is reported but meets the goal; any other loss or a duplicate does not", () => {
    expect(verdict(summary)).toMatch(/^OK: every one of 12345 published events/);
    const covered = { ...summary, lost: 3, lostCoveredByGap: 3, delivered: 12_342 };
    expect(goalMet(covered)).toBe(true);
    expect(verdict(covered)).toMatch(/^OK: nothing lost outside a recorded gap; 3 of 12345 published/);
    const uncovered = { ...summary, lost: 3, lostCoveredByGap: 1, lostUncovered: 2, delivered: 12_342 };
    expect(goalMet(uncovered)).toBe(false);
    expect(verdict(uncovered)).toBe(
      "NOT OK: 2 lost outside every recorded gap (1 more inside), 0 duplicated, of 12345 published.",
    );
    expect(goalMet({ ...summary, duplicates: 1 })).toBe(false);
    expect(verdict({ ...summary, duplicates: 1 })).toMatch(/^NOT OK/);
  });
});
