import type { AuditRecord } from "../../shared/contracts.ts";
import { renderTextTable } from "../text-table.ts";
import type { OutputFormat } from "./args.ts";
import { csvCell } from "./format.ts";

const UNKNOWN_PRINCIPAL = "(unauthenticated)";
const NO_CODE = "(none)";

export interface AuditSummary {
  records: number;
  firstTime?: string;
  lastTime?: string;
  handoutsByPrincipal: { principal: string; profile: string; count: number }[];
  mintsByProfile: { profile: string; mints: number; rotations: number }[];
  /** Every record with outcome "error": failed requests and failed mints/rotations (by action). */
  failures: { profile: string; action: string; errorCode: string; count: number }[];
  refusals: { principal: string; profile: string; errorCode: string; count: number }[];
}

/** Folds records into the totals a reviewer asks for first; independent of record order. */
export function summarise(records: Iterable<AuditRecord>): AuditSummary {
  const handouts = new Counter<[string, string]>();
  const mints = new Map<string, { mints: number; rotations: number }>();
  const failures = new Counter<[string, string, string]>();
  const refusals = new Counter<[string, string, string]>();
  let count = 0;
  let firstTime: string | undefined;
  let lastTime: string | undefined;

  for (const record of records) {
    count += 1;
    if (firstTime === undefined || record.time < firstTime) firstTime = record.time;
    if (lastTime === undefined || record.time > lastTime) lastTime = record.time;
    const principal = record.callerArn ?? UNKNOWN_PRINCIPAL;
    // A mint or rotation the identity provider refused is a failure, not a token that exists.
    if (record.outcome === "error" || record.action === "failure") {
      failures.add([record.profile, record.action, record.errorCode ?? NO_CODE]);
      continue;
    }
    switch (record.action) {
      case "handout":
        handouts.add([principal, record.profile]);
        break;
      case "mint":
      case "rotation": {
        const entry = mints.get(record.profile) ?? { mints: 0, rotations: 0 };
        if (record.action === "mint") entry.mints += 1;
        else entry.rotations += 1;
        mints.set(record.profile, entry);
        break;
      }
      case "refusal":
        refusals.add([principal, record.profile, record.errorCode ?? NO_CODE]);
        break;
    }
  }

  const summary: AuditSummary = {
    records: count,
    handoutsByPrincipal: handouts
      .entries()
      .map(([[principal, profile], n]) => ({ principal, profile, count: n })),
    mintsByProfile: [...mints.entries()]
      .map(([profile, entry]) => ({ profile, ...entry }))
      .sort((a, b) => b.mints + b.rotations - (a.mints + a.rotations) || a.profile.localeCompare(b.profile)),
    failures: failures
      .entries()
      .map(([[profile, action, errorCode], n]) => ({ profile, action, errorCode, count: n })),
    refusals: refusals
      .entries()
      .map(([[principal, profile, errorCode], n]) => ({ principal, profile, errorCode, count: n })),
  };
  if (firstTime !== undefined) summary.firstTime = firstTime;
  if (lastTime !== undefined) summary.lastTime = lastTime;
  return summary;
}

export function renderSummary(summary: AuditSummary, format: OutputFormat): string {
  if (format === "jsonl") return `${JSON.stringify(summary)}\n`;
  if (format === "csv") return summaryCsv(summary);
  const span = summary.firstTime ? ` from ${summary.firstTime} to ${summary.lastTime}` : "";
  const sections = [
    `${summary.records} audit record(s)${span}`,
    section(
      "Hand-outs per principal",
      ["PRINCIPAL", "PROFILE", "HAND-OUTS"],
      summary.handoutsByPrincipal.map((row) => [row.principal, row.profile, String(row.count)]),
    ),
    section(
      "Mints per profile",
      ["PROFILE", "MINTS", "ROTATIONS"],
      summary.mintsByProfile.map((row) => [row.profile, String(row.mints), String(row.rotations)]),
    ),
    section(
      "Failures",
      ["PROFILE", "ACTION", "ERROR", "COUNT"],
      summary.failures.map((row) => [row.profile, row.action, row.errorCode, String(row.count)]),
    ),
    section(
      "Refusals",
      ["PRINCIPAL", "PROFILE", "ERROR", "COUNT"],
      summary.refusals.map((row) => [row.principal, row.profile, row.errorCode, String(row.count)]),
    ),
  ];
  return `${sections.join("\n\n")}\n`;
}

function section(title: string, headers: string[], rows: string[][]): string {
  const body = rows.length === 0 ? "(none)" : renderTextTable(headers, rows, headers.map(alignFor));
  return `${title}\n${body}`;
}

function alignFor(header: string): "left" | "right" {
  return ["HAND-OUTS", "MINTS", "ROTATIONS", "COUNT"].includes(header) ? "right" : "left";
}

function summaryCsv(summary: AuditSummary): string {
  const rows: (string | number)[][] = [["section", "principal", "profile", "action", "errorCode", "count"]];
  for (const row of summary.handoutsByPrincipal)
    rows.push(["handout", row.principal, row.profile, "handout", "", row.count]);
  for (const row of summary.mintsByProfile) {
    rows.push(["mint", "", row.profile, "mint", "", row.mints]);
    rows.push(["rotation", "", row.profile, "rotation", "", row.rotations]);
  }
  for (const row of summary.failures)
    rows.push(["failure", "", row.profile, row.action, row.errorCode, row.count]);
  for (const row of summary.refusals)
    rows.push(["refusal", row.principal, row.profile, "refusal", row.errorCode, row.count]);
  return rows
    .map((row) => row.map((cell) => (typeof cell === "number" ? String(cell) : csvCell(cell))).join(","))
    .join("\n")
    .concat("\n");
}

/** Counts tuples; entries come back most frequent first, ties in key order, so output is deterministic. */
class Counter<K extends string[]> {
  private readonly counts = new Map<string, { key: K; count: number }>();

  add(key: K): void {
    const id = JSON.stringify(key);
    const entry = this.counts.get(id);
    if (entry) entry.count += 1;
    else this.counts.set(id, { key, count: 1 });
  }

  entries(): [K, number][] {
    return [...this.counts.values()]
      .sort((a, b) => b.count - a.count || JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)))
      .map((entry) => [entry.key, entry.count]);
  }
}
