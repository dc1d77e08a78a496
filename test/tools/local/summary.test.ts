import { describe, expect, it } from "vitest";
import { formatSummaryTable, type RunSummary, verdict } from "../../../tools/local/summary.ts";

const summary: RunSummary = {
  durationMs: 61_234,
  emitted: 12_345,
  delivered: 12_345,
  lost: 0,
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
      "duration             61.2 s",
      "events emitted       12,345",
      "events delivered     12,345",
      "events lost               0",
      "duplicates in queue       0",
      "rotations                 7",
      "IdP calls                 9",
      "gaps                      0",
      "gap ms                    0",
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
    const table = formatSummaryTable({ ...summary, emitted: undefined, lost: undefined });
    expect(table).toMatch(/events emitted\s+n\/a/);
    expect(table).toMatch(/events lost\s+n\/a/);
    expect(verdict({ ...summary, emitted: undefined, lost: undefined })).toContain("no simulator ledger");
  });

  it("verdict: OK only with nothing lost and nothing duplicated", () => {
    expect(verdict(summary)).toMatch(/^OK: every one of 12345 emitted events/);
    expect(verdict({ ...summary, lost: 3, delivered: 12_342 })).toBe(
      "NOT OK: 3 lost, 0 duplicated of 12345 emitted.",
    );
    expect(verdict({ ...summary, duplicates: 1 })).toMatch(/^NOT OK/);
  });
});
