/**
 * The backlog's size bound: while the spool holds `maxBytes`, new events are refused (counted as
 * `BacklogOverflow`, logged once per episode) and `overflowingSinceMs` says since when, so the coverage
 * ledger records the interval as a gap. Gap messages are always taken.
 */
import type { Entry } from "./entry-buffer.ts";
import type { SinkLogger, SinkMetrics } from "./sink-ports.ts";

export class BacklogBound {
  #since: number | undefined;

  constructor(
    private readonly maxBytes: number | undefined,
    private readonly log: SinkLogger,
    private readonly metrics: SinkMetrics,
  ) {}

  overflowingSinceMs(): number | undefined {
    return this.#since;
  }

  /** True when `entry` must be refused because the backlog holds `backlogBytes`. */
  refuses(entry: Entry, backlogBytes: number): boolean {
    const max = this.maxBytes;
    if (max === undefined || entry.kind === "gap") return false;
    if (backlogBytes < max) {
      if (this.#since !== undefined) {
        this.log.info("backlog below its bound again; accepting events", { code: "backlog_overflow_ended" });
        this.#since = undefined;
      }
      return false;
    }
    if (this.#since === undefined) {
      this.#since = entry.submittedAtMs;
      this.log.error("backlog at its bound: refusing new events, recorded as a coverage gap", {
        code: "backlog_overflow",
        alarm: true,
        maxBacklogBytes: max,
      });
    }
    this.metrics.count("BacklogOverflow");
    return true;
  }
}
