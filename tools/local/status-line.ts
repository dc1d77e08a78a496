/** Live numbers of a running local system, shown on one line. */
export interface LiveStatus {
  elapsedMs: number;
  sessionsLive: number;
  eventsIn: number;
  eventsOut: number;
  duplicatesDropped: number;
  rotations: number;
  idpCalls: number;
  gaps: number;
  gapMs: number;
  /** Events the consumer took off the queue so far. */
  consumed?: number;
}

export function formatStatusLine(status: LiveStatus): string {
  const parts = [
    `${formatElapsed(status.elapsedMs)}`,
    `sessions ${status.sessionsLive}`,
    `in ${status.eventsIn}`,
    `out ${status.eventsOut}`,
    `dup dropped ${status.duplicatesDropped}`,
    `rotations ${status.rotations}`,
    `IdP calls ${status.idpCalls}`,
    `gaps ${status.gaps} (${status.gapMs} ms)`,
  ];
  if (status.consumed !== undefined) parts.push(`consumed ${status.consumed}`);
  return parts.join(" | ");
}

function formatElapsed(ms: number): string {
  const total = Math.floor(ms / 1000);
  const minutes = Math.floor(total / 60);
  return `${String(minutes).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
}

export interface StatusOutput {
  write(chunk: string): void;
  /** A terminal: the line is redrawn in place; otherwise plain log lines are written now and then. */
  isTTY: boolean;
}

export interface StatusReporterOptions {
  read: () => LiveStatus;
  output: StatusOutput;
  /** Redraw interval on a TTY. */
  ttyIntervalMs?: number;
  /** Log-line interval otherwise. */
  logIntervalMs?: number;
}

export interface StatusReporter {
  /** Writes a line now (and on a TTY leaves the cursor on it). */
  tick(): void;
  /** Prints a message above the status line without garbling it. */
  log(message: string): void;
  /** Ends the live line (newline on a TTY) and stops the timer. */
  stop(): void;
}

const CLEAR_LINE = "\r\u001b[2K";

export function startStatusReporter(options: StatusReporterOptions): StatusReporter {
  const { output, read } = options;
  let drawn = false;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const line = formatStatusLine(read());
    if (output.isTTY) {
      output.write(`${CLEAR_LINE}${line}`);
      drawn = true;
    } else {
      output.write(`[status] ${line}\n`);
    }
  };
  const interval = output.isTTY ? (options.ttyIntervalMs ?? 250) : (options.logIntervalMs ?? 5_000);
  const timer = setInterval(tick, interval);
  timer.unref();
  return {
    tick,
    log(message) {
      if (output.isTTY && drawn) output.write(CLEAR_LINE);
      output.write(`${message}\n`);
      if (output.isTTY && drawn && !stopped) tick();
    },
    stop() {
      if (stopped) return;
      tick();
      stopped = true;
      clearInterval(timer);
      if (output.isTTY && drawn) output.write("\n");
    },
  };
}
