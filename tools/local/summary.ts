import { renderTextTable } from "../text-table.ts";

/**
 * The final `npm start` numbers. `published`/`lost*` are undefined against a real org (nothing to compare
 * with). `published` counts every event the upstream raised, whether or not a socket could receive it.
 */
export interface RunSummary {
  durationMs: number;
  published?: number;
  delivered: number;
  lost?: number;
  /** Lost inside a gap the worker recorded (reported, back-fillable). */
  lostCoveredByGap?: number;
  /** Lost, but named by a record in the worker's dead-letter queue (known, not delivered). */
  lostCoveredByDeadLetter?: number;
  /** Records in the worker's dead-letter queue. */
  deadLettered?: number;
  /** Lost outside every recorded gap and dead-letter record: must be 0. */
  lostUncovered?: number;
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
    ["events published", count(summary.published)],
    ["events delivered", count(summary.delivered)],
    ["events lost", count(summary.lost)],
    ["lost inside recorded gaps", count(summary.lostCoveredByGap)],
    ...optional("lost, named by dead-letter records", summary.lostCoveredByDeadLetter),
    ...optional("dead-letter records", summary.deadLettered),
    ["lost uncovered (goal 0)", count(summary.lostUncovered)],
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

/** The run met its goal: no loss outside a recorded gap, no duplicate in the queue. */
export function goalMet(summary: RunSummary): boolean | undefined {
  if (summary.lostUncovered === undefined) return undefined;
  return summary.lostUncovered === 0 && summary.duplicates === 0;
}

/** One sentence under the table saying whether the run met the zero-loss goal. */
export function verdict(summary: RunSummary): string {
  if (summary.lost === undefined || summary.lostUncovered === undefined)
    return `${summary.delivered} events delivered (no simulator ledger to compare with).`;
  if (summary.lost === 0 && summary.duplicates === 0) {
    return `OK: every one of ${summary.published} published events is in the queue exactly once.`;
  }
  if (goalMet(summary)) {
    return (
      `OK: nothing lost outside a recorded gap; ${summary.lostCoveredByGap} of ${summary.published} published ` +
      "events lie inside recorded gaps" +
      (summary.lostCoveredByDeadLetter
        ? ` and ${summary.lostCoveredByDeadLetter} are named by dead-letter records`
        : "") +
      " (back-fill them through the REST API)."
    );
  }
  return (
    `NOT OK: ${summary.lostUncovered} lost outside every recorded gap (${summary.lostCoveredByGap} more inside), ` +
    `${summary.duplicates} duplicated, of ${summary.published} published.`
  );
}

function count(value: number | undefined): string {
  return value === undefined ? NOT_KNOWN : Math.round(value).toLocaleString("en-US");
}
