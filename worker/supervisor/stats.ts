/** Counters the supervisor keeps for `stats()`, /healthz and the status line. */
export interface WorkerStats {
  liveSessions: number;
  /** Events received on any session (duplicates included). */
  eventsIn: number;
  /** Distinct events handed to the sink. */
  eventsOut: number;
  duplicatesDropped: number;
  /** Completed make-before-break replacements of a live session. */
  rotations: number;
  /** Sessions built (first start, rotations and reconnects). */
  sessionsStarted: number;
  sessionFailures: number;
  tokenRefreshes: number;
  gaps: number;
  gapMs: number;
  malformedFrames: number;
  /** Slots stopped after a permanent failure (alarm). */
  stoppedSlots: number;
  /** Sink messages accepted but not yet acknowledged. */
  bufferDepth: number;
  sinkHealthy: boolean;
  /** Messages waiting in the spool on disk: input exceeds what SQS takes, or SQS fails (set by app.ts). */
  backlogMessages?: number;
  /** Age of the oldest spooled message, 0 when the spool is empty. */
  backlogAgeMs?: number;
  /** SendMessageBatch calls the sink may have in flight now (its adaptive window). */
  sinkInFlightLimit?: number;
  /**
   * How long the oldest accepted message that this task's death would lose has waited (neither acknowledged
   * by SQS nor in the durable backlog); 0 when a death now would lose nothing.
   */
  undurableMs?: number;
}

export function emptyStats(): WorkerStats {
  return {
    liveSessions: 0,
    eventsIn: 0,
    eventsOut: 0,
    duplicatesDropped: 0,
    rotations: 0,
    sessionsStarted: 0,
    sessionFailures: 0,
    tokenRefreshes: 0,
    gaps: 0,
    gapMs: 0,
    malformedFrames: 0,
    stoppedSlots: 0,
    bufferDepth: 0,
    sinkHealthy: true,
  };
}
