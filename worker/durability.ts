/**
 * Composition of the durable backlog (worker/backlog) and the coverage ledger (worker/coverage) for one
 * worker process (DESIGN.md section 7, docs/durability.md):
 * - the sink's spool lives in `<SPOOL_DIR>/<taskId>` and is mirrored to S3 under the task's id;
 * - a coverage probe watches the sessions; the ledger heartbeats to DynamoDB and emits gap messages;
 * - at start the sink holds (spools, sends nothing) until the backlogs of gone tasks are adopted and the
 *   owners of the other backlogs are known to be alive, or `holdTimeoutMs` passes; adoption scans go on
 *   every stale interval;
 * - the supervisor's own (per-process, in-memory) gap messages are dropped: the ledger records every gap,
 *   across tasks and crashes, once.
 */

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import type { QueuedMessage } from "../shared/contracts.ts";
import { BacklogAdopter, type OwnerState } from "./backlog/backlog-adopter.ts";
import { BacklogMirror } from "./backlog/backlog-mirror.ts";
import type { BacklogStore, StoredSegment } from "./backlog/backlog-store.ts";
import { S3BacklogStore } from "./backlog/s3-backlog-store.ts";
import type { DurabilityConfig } from "./config.ts";
import type { EventSink } from "./core/event-sink.ts";
import { CoverageLedger } from "./coverage/coverage-ledger.ts";
import { CoverageProbe } from "./coverage/coverage-probe.ts";
import type { CoverageStore } from "./coverage/coverage-records.ts";
import { DynamoDbCoverageStore } from "./coverage/dynamodb-coverage-store.ts";
import { errorCode } from "./sink/send-errors.ts";
import type { SinkLogger } from "./sink/sink-ports.ts";
import type { SqsSink } from "./sink/sqs-sink.ts";
import type { SessionFactory } from "./source/session.ts";
import type { CounterName, GaugeName, TimingName } from "./telemetry.ts";

/** Items of the coverage table live this long after their last write; gaps are looked for within LOOKBACK. */
export const COVERAGE_RETENTION_MS = 14 * 86_400_000;
export const COVERAGE_LOOKBACK_MS = 6 * 86_400_000;
/** Spool segments roll at these sizes, so each stored object (and each adopted one in memory) is small. */
export const SEGMENT_LINES = 2_000;
export const SEGMENT_BYTES = 4 * 1024 * 1024;
/** Segments of an owner without a ledger record count as orphaned once untouched this long. */
export const UNRECORDED_OWNER_MS = 60_000;

export interface DurabilityDeps {
  config: DurabilityConfig;
  topics: readonly string[];
  spoolDir: string;
  region: string;
  log: SinkLogger;
  metrics: {
    count(name: CounterName, n?: number): void;
    gauge(name: GaugeName, value: number): void;
    timing(name: TimingName, ms: number): void;
  };
  backlogStore?: BacklogStore;
  coverageStore?: CoverageStore;
  s3?: S3Client;
  dynamodb?: DynamoDBClient;
  now?: () => number;
  /** Longest the sink holds at start for orphaned backlogs (default: stale limit + 2 heartbeats). */
  holdTimeoutMs?: number;
}

export class Durability {
  readonly taskId: string;
  readonly spoolDir: string;
  readonly mirror: BacklogMirror;
  readonly store: BacklogStore;
  readonly coverage: CoverageStore;
  #probe: CoverageProbe | undefined;
  #ledger: CoverageLedger | undefined;
  #adopter: BacklogAdopter | undefined;
  #scanTimer: NodeJS.Timeout | undefined;
  #gaugeTimer: NodeJS.Timeout | undefined;
  readonly #now: () => number;
  readonly #startedAtMs: number;

  constructor(private readonly d: DurabilityDeps) {
    this.#now = d.now ?? Date.now;
    this.#startedAtMs = this.#now();
    this.taskId =
      d.config.taskId ??
      `${hostname()
        .replace(/[^A-Za-z0-9._-]/g, "-")
        .slice(0, 60)}-${randomUUID().slice(0, 8)}`;
    this.spoolDir = join(d.spoolDir, this.taskId);
    const c = d.config;
    this.store =
      d.backlogStore ??
      new S3BacklogStore({
        s3:
          d.s3 ??
          new S3Client({
            region: d.region,
            ...(c.s3Endpoint ? { endpoint: c.s3Endpoint, forcePathStyle: true } : {}),
          }),
        bucket: d.config.backlogBucket,
        prefix: `backlog/${d.config.scope}`,
      });
    this.coverage =
      d.coverageStore ??
      new DynamoDbCoverageStore({
        client:
          d.dynamodb ??
          new DynamoDBClient({
            region: d.region,
            ...(c.dynamodbEndpoint ? { endpoint: c.dynamodbEndpoint } : {}),
          }),
        tableName: d.config.coverageTable,
        scope: d.config.scope,
        retentionMs: COVERAGE_RETENTION_MS,
        now: this.#now,
      });
    this.mirror = new BacklogMirror({
      store: this.store,
      owner: this.taskId,
      flushIntervalMs: d.config.flushIntervalMs,
      log: d.log,
      metrics: d.metrics,
    });
  }

  /** Sink options that make its spool mirrorable. */
  sinkOptions(): {
    spoolDir: string;
    spoolSegmentLines: number;
    spoolSegmentBytes: number;
    maxBacklogBytes: number;
    onSegmentRemoved: (name: string) => void;
  } {
    return {
      spoolDir: this.spoolDir,
      spoolSegmentLines: SEGMENT_LINES,
      spoolSegmentBytes: SEGMENT_BYTES,
      maxBacklogBytes: this.d.config.maxBacklogBytes,
      onSegmentRemoved: (name) => this.mirror.segmentRemoved(name),
    };
  }

  /** Wraps the session factory to observe coverage. */
  observe(sessions: SessionFactory): SessionFactory {
    this.#probe = new CoverageProbe(sessions, this.#now);
    return this.#probe;
  }

  /** The sink the supervisor gets: the same, minus its in-process gap messages (the ledger records gaps). */
  supervisorSink(sink: EventSink): EventSink {
    return {
      submit: (msg: QueuedMessage) => {
        if (msg.kind !== "gap") sink.submit(msg);
      },
      depth: () => sink.depth(),
      drain: (deadlineMs) => sink.drain(deadlineMs),
      healthy: () => sink.healthy(),
      close: () => sink.close(),
    };
  }

  /** Registers the task, holds the sink while orphaned backlogs are adopted, then heartbeats. */
  async start(sink: SqsSink): Promise<void> {
    const probe = this.#probe;
    if (!probe) throw new Error("Durability.observe() must wrap the sessions before start()");
    this.mirror.attach(sink.spool);
    sink.attachDurableTier(this.mirror);
    this.mirror.start();
    const c = this.d.config;
    this.#ledger = new CoverageLedger({
      store: this.coverage,
      coverage: probe,
      sink,
      taskId: this.taskId,
      topics: this.d.topics,
      heartbeatMs: c.heartbeatMs,
      staleAfterMs: c.staleAfterMs,
      lookbackMs: COVERAGE_LOOKBACK_MS,
      log: this.d.log,
      metrics: this.d.metrics,
      now: this.#now,
    });
    this.#adopter = new BacklogAdopter({
      store: this.store,
      claims: this.coverage,
      ownerState: (owner, segments) => this.#ownerState(owner, segments),
      self: this.taskId,
      spool: () => sink.spool,
      spoolChanged: () => sink.spoolChanged(),
      flushMirror: () => this.mirror.flush(),
      isStored: (seq) => this.mirror.isDurable(seq),
      leaseMs: 3 * c.staleAfterMs,
      log: this.d.log,
      metrics: this.d.metrics,
      now: this.#now,
    });
    sink.hold();
    void this.#ledger.start();
    void this.#initialAdoption(sink);
    this.#scanTimer = setInterval(() => void this.#scan(), c.staleAfterMs);
    this.#scanTimer.unref();
    const gauges = setInterval(() => {
      const oldest = sink.oldestUndeliveredMs();
      this.d.metrics.gauge("BacklogAgeMs", oldest === undefined ? 0 : Math.max(0, this.#now() - oldest));
      this.d.metrics.gauge("BacklogBytes", sink.backlogBytes());
    }, 1_000);
    gauges.unref();
    this.#gaugeTimer = gauges;
  }

  /** After the sink is closed: stores what is left, ends the stretch, marks the task stopped. */
  async stop(): Promise<void> {
    clearInterval(this.#scanTimer);
    clearInterval(this.#gaugeTimer);
    this.mirror.stop();
    await this.mirror.flush();
    await this.#ledger?.stop();
  }

  async #initialAdoption(sink: SqsSink): Promise<void> {
    const c = this.d.config;
    const deadline = this.#now() + (this.d.holdTimeoutMs ?? c.staleAfterMs + 2 * c.heartbeatMs);
    try {
      for (;;) {
        const result = await this.#scan();
        if (!result || result.undecided === 0 || this.#now() >= deadline) break;
        await new Promise((r) => setTimeout(r, c.heartbeatMs));
      }
    } finally {
      sink.release();
    }
  }

  async #scan(): Promise<{ undecided: number } | undefined> {
    try {
      await this.#ledger?.derive();
      return await this.#adopter?.scan();
    } catch (err) {
      this.d.log.error("backlog adoption scan failed; retrying", {
        code: "backlog_scan_failed",
        error: errorCode(err),
      });
      return undefined;
    }
  }

  /** Judged on the ledger as read at the start of this scan: staleness relative to the read time. */
  #ownerState(owner: string, segments: StoredSegment[]): OwnerState {
    const read = this.#ledger?.lastSnapshot();
    const now = read?.readAtMs ?? this.#now();
    const stale = now - this.d.config.staleAfterMs;
    const task = read?.snapshot.tasks.find((t) => t.taskId === owner);
    if (!task) {
      // No record (yet, or expired): only long-untouched segments are an orphan's. S3 LastModified has
      // one-second precision, and a task may store a segment before its first heartbeat lands.
      const orphanedBefore = now - Math.max(10 * this.d.config.staleAfterMs, UNRECORDED_OWNER_MS);
      return segments.every((s) => s.lastModifiedMs < orphanedBefore) ? "gone" : "undecided";
    }
    if (task.stoppedAtMs !== undefined || task.heartbeatAtMs < stale) return "gone";
    return task.heartbeatAtMs >= this.#startedAtMs ? "alive" : "undecided";
  }
}
