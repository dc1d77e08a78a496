/**
 * The crash-proof coverage ledger of one task (DESIGN.md section 7). Every `heartbeatMs`, and at once when
 * coverage starts or ends, it writes to the store:
 * - its task record (alive at now; stopped at, after a clean stop);
 * - its current stretch: covered since S, covered and durable through H = the earlier of the last frame
 *   of a live session and the sink's durable watermark. A lapse (no live session, or the backlog at its
 *   bound) ends the stretch at its last covered moment; coverage returning starts a new one.
 * Then it reads every task's records, derives the uncovered intervals (coverage-gaps.ts) and, for each
 * closed one, tries the gap claim: the one task that wins it submits the `tokenstream.gap` message and
 * counts the CoverageGaps/CoverageGapMs metrics. A task that dies says nothing: its records stop at its last
 * heartbeat, so the others (or its successor) derive the gap from them.
 */
import type { QueuedMessage } from "../../shared/contracts.ts";
import { toGapMessage } from "../core/gap-ledger.ts";
import { errorCode } from "../sink/send-errors.ts";
import type { SinkLogger } from "../sink/sink-ports.ts";
import type { CounterName, GaugeName } from "../telemetry.ts";
import { deriveCoverage } from "./coverage-gaps.ts";
import type { CoverageSnapshot, CoverageStore, StretchRecord, TaskRecord } from "./coverage-records.ts";

export interface CoverageSource {
  liveSinceMs(): number | undefined;
  coveredThroughMs(): number | undefined;
  lastCoveredMs(): number | undefined;
  onChange(cb: () => void): void;
}

export interface DurabilitySource {
  durableThroughMs(): number;
  overflowingSinceMs(): number | undefined;
  submit(msg: QueuedMessage): void;
}

export interface CoverageLedgerOptions {
  store: CoverageStore;
  coverage: CoverageSource;
  sink: DurabilitySource;
  taskId: string;
  topics: readonly string[];
  heartbeatMs: number;
  /** A task whose heartbeat is older than this is dead. Several heartbeats, so one slow write is not death. */
  staleAfterMs: number;
  lookbackMs: number;
  log: SinkLogger;
  metrics: { count(name: CounterName, n?: number): void; gauge(name: GaugeName, value: number): void };
  now?: () => number;
}

export class CoverageLedger {
  readonly #now: () => number;
  readonly #task: TaskRecord;
  readonly #emitted = new Map<number, number>();
  #stretch: StretchRecord | undefined;
  #lostAtMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failing = false;
  #stopped = false;
  #snapshot: { snapshot: CoverageSnapshot; readAtMs: number } | undefined;
  #deriving: Promise<void> | undefined;

  constructor(private readonly o: CoverageLedgerOptions) {
    this.#now = o.now ?? Date.now;
    const now = this.#now();
    this.#task = { taskId: o.taskId, startedAtMs: now, heartbeatAtMs: now };
    o.coverage.onChange(() => void this.tick());
  }

  get startedAtMs(): number {
    return this.#task.startedAtMs;
  }

  /** Registers the task (so its backlog is never taken for an orphan's) and starts heartbeating. */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.tick(), this.o.heartbeatMs);
    this.#timer.unref();
    await this.tick();
  }

  /** Clean stop: ends the stretch at the last covered moment and marks the task stopped. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    this.#stopped = true;
    this.#task.stoppedAtMs = this.#now();
    await this.#once();
  }

  /** The records as last read, and when (undefined before the first successful read). */
  lastSnapshot(): { snapshot: CoverageSnapshot; readAtMs: number } | undefined {
    return this.#snapshot;
  }

  /** One heartbeat now (coalesced with one in progress). */
  tick(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#once();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** Reads every task's records and emits the closed gaps this task wins (one pass at a time). */
  derive(): Promise<void> {
    this.#deriving ??= (async () => {
      try {
        const readAtMs = this.#now();
        const snapshot = await this.o.store.snapshot();
        this.#snapshot = { snapshot, readAtMs };
        await this.#emitGaps(snapshot, readAtMs);
      } catch (err) {
        this.o.log.warn("coverage ledger read failed; retrying", {
          code: "coverage_read_failed",
          error: errorCode(err),
        });
      } finally {
        this.#deriving = undefined;
      }
    })();
    return this.#deriving;
  }

  async #once(): Promise<void> {
    const now = this.#now();
    try {
      this.#task.heartbeatAtMs = now;
      // Both writes at once: the heartbeat's age is what a successor's gap starts from.
      await Promise.all([this.#writeStretch(now), this.o.store.putTask({ ...this.#task })]);
      void this.derive();
      if (this.#failing)
        this.o.log.info("coverage ledger reachable again", { code: "coverage_ledger_recovered" });
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) {
        this.o.log.error("coverage ledger write failed; retrying every heartbeat", {
          code: "coverage_ledger_failed",
          error: errorCode(err),
        });
      }
      this.#failing = true;
    }
  }

  async #writeStretch(now: number): Promise<void> {
    const c = this.o.coverage;
    const overflowSince = this.o.sink.overflowingSinceMs();
    const through = c.coveredThroughMs();
    const covering = !this.#stopped && through !== undefined && overflowSince === undefined;
    this.o.metrics.gauge("Covering", covering ? 1 : 0);
    if (covering) {
      const durable = this.o.sink.durableThroughMs();
      if (!this.#stretch) {
        const since = Math.max(c.liveSinceMs() ?? now, this.#lostAtMs);
        this.#stretch = { taskId: this.o.taskId, sinceMs: since, liveAtMs: since, ended: false };
      }
      const s = this.#stretch;
      s.liveAtMs = Math.max(s.liveAtMs, Math.min(through, durable, now));
      await this.o.store.putStretch({ ...s });
      return;
    }
    const s = this.#stretch;
    if (!s) return;
    const end = Math.min(
      c.lastCoveredMs() ?? s.liveAtMs,
      overflowSince ?? Number.POSITIVE_INFINITY,
      this.o.sink.durableThroughMs(),
    );
    const ended: StretchRecord = {
      ...s,
      liveAtMs: Math.max(s.sinceMs, Math.max(s.liveAtMs, end)),
      ended: true,
    };
    await this.o.store.putStretch(ended);
    this.#stretch = undefined;
    this.#lostAtMs = now;
  }

  async #emitGaps(snapshot: CoverageSnapshot, now: number): Promise<void> {
    const view = deriveCoverage(snapshot, now, {
      staleAfterMs: this.o.staleAfterMs,
      lookbackMs: this.o.lookbackMs,
    });
    this.o.metrics.gauge("UncoveredMs", view.openSinceMs === undefined ? 0 : now - view.openSinceMs);
    for (const gap of view.closed) {
      if (this.#emitted.has(gap.startMs)) continue;
      const won = await this.o.store.claimGap(gap.startMs, gap.endMs, this.o.taskId);
      this.#emitted.set(gap.startMs, now);
      if (!won) continue;
      const msg = toGapMessage(gap, this.o.topics);
      this.o.sink.submit(msg);
      this.o.metrics.count("CoverageGaps");
      this.o.metrics.count("CoverageGapMs", msg.durationMs);
      this.o.log.warn("coverage gap recorded", {
        code: "coverage_gap",
        start: msg.start,
        end: msg.end,
        durationMs: msg.durationMs,
      });
    }
    for (const [start, at] of this.#emitted) if (at < now - this.o.lookbackMs) this.#emitted.delete(start);
  }
}
