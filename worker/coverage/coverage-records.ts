/**
 * What the coverage ledger stores (DynamoDB table, one partition per scope) and the port to it.
 * - task: one per worker process: started, still alive at (heartbeat), stopped cleanly at.
 * - stretch: one per contiguous interval in which a task covered the topics: since, covered-and-durable
 *   through (`liveAtMs`), and whether it ended while the task lived on (a lapse, a clean stop).
 * - gap and adoption claims: conditional writes that make one task, of many, emit a gap or drain an
 *   orphaned backlog.
 */
export interface TaskRecord {
  taskId: string;
  startedAtMs: number;
  heartbeatAtMs: number;
  stoppedAtMs?: number;
}

export interface StretchRecord {
  taskId: string;
  sinceMs: number;
  /** Everything received up to here reached SQS or the durable backlog while the topics were covered. */
  liveAtMs: number;
  ended: boolean;
}

export interface CoverageSnapshot {
  tasks: TaskRecord[];
  stretches: StretchRecord[];
}

export interface CoverageStore {
  putTask(task: TaskRecord): Promise<void>;
  putStretch(stretch: StretchRecord): Promise<void>;
  snapshot(): Promise<CoverageSnapshot>;
  /** True for the one caller that claims the gap starting at `startMs` (conditional put). */
  claimGap(startMs: number, endMs: number, claimant: string): Promise<boolean>;
  /**
   * True when `claimant` holds the adoption of `owner`'s backlog until `nowMs + leaseMs`: nobody held it,
   * the holder's lease ran out, or the claimant holds it already (renewal). Finished adoptions stay held.
   */
  claimAdoption(owner: string, claimant: string, nowMs: number, leaseMs: number): Promise<boolean>;
  finishAdoption(owner: string, claimant: string): Promise<void>;
}
