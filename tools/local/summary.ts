import { renderTextTable } from "../text-table.ts";

/** The final `npm start` numbers. `emitted`/`lost` are undefined against a real org (nothing to compare with). */
export interface RunSummary {
  durationMs: number;
  emitted?: number;
  delivered: number;
  lost?: number;
  duplicates: number;
  /** Second copies the worker discarded (redundancy at work); absent when not measured. */
  duplicatesDropped?: number;
  rotations: number;
  /** Token requests the identity provider saw (the simulator's count); undefined against a real org. */
  idpCalls?: number;
  gaps: number;
  gapMs: number;
  /** Faults the simulator injected during the run (absent against a real org). */
  socketClosings?: number;
  drops?: number;
}

const NOT_KNOWN = "n/a";

export function formatSummaryTable(summary: RunSummary): string {
  const optional = (label: string, value: number | undefined): [string, string][] =>
    value === undefined ? [] : [[label, count(value)]];
  const rows: [string, string][] = [
    ["duration", `${(summary.durationMs / 1000).toFixed(1)} s`],
    ["events emitted", count(summary.emitted)],
    ["events delivered", count(summary.delivered)],
    ["events lost", count(summary.lost)],
    ["duplicates in queue", count(summary.duplicates)],
    ...optional("duplicates dropped by worker", summary.duplicatesDropped),
    ["rotations", count(summary.rotations)],
    ["IdP calls", count(summary.idpCalls)],
    ["gaps", count(summary.gaps)],
    ["gap ms", count(summary.gapMs)],
    ...optional("socket_closing sent", summary.socketClosings),
    ...optional("abrupt drops", summary.drops),
  ];
  return renderTextTable(["metric", "value"], rows, ["left", "right"]);
}

/** One sentence under the table saying whether the run met the zero-loss goal. */
export function verdict(summary: RunSummary): string {
  if (summary.lost === undefined)
    return `${summary.delivered} events delivered (no simulator ledger to compare with).`;
  if (summary.lost === 0 && summary.duplicates === 0) {
    return `OK: every one of ${summary.emitted} emitted events is in the queue exactly once.`;
  }
  return `NOT OK: ${summary.lost} lost, ${summary.duplicates} duplicated of ${summary.emitted} emitted.`;
}

function count(value: number | undefined): string {
  return value === undefined ? NOT_KNOWN : Math.round(value).toLocaleString("en-US");
}
