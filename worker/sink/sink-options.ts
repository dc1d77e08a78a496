/** Options of the SQS sink, and what a durable backlog tells it. */
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { BackoffOptions } from "../core/backoff.ts";
import type { InflightLimits } from "./inflight-controller.ts";
import type { DeadLetterEntry, DeadLetterError, SinkLogger, SinkMetrics } from "./sink-ports.ts";

/** What the durable backlog (worker/backlog/backlog-mirror.ts) tells the sink. */
export interface DurableTier {
  /** The spool segment is stored durably (S3). */
  isDurable(segment: number): boolean;
  /** Earliest receive time of a spooled line not yet stored durably (undefined: none). */
  oldestPendingMs(): number | undefined;
}

export interface SqsSinkOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Default: the queue URL ends in `.fifo`. */
  fifo?: boolean;
  /** Bounds of the adaptive in-flight window. Default: DEFAULT_INFLIGHT_MIN to DEFAULT_INFLIGHT_MAX. */
  inFlight?: InflightLimits;
  /** A fixed number of batches in flight (min = max), when `inFlight` is not given. */
  maxInFlightBatches?: number;
  /** Entries held in memory (queued + in flight) before new ones spill to the spool. Default 10,000. */
  memoryLimit?: number;
  /**
   * Bytes held in memory (queued + in flight; SQS size + ENTRY_OVERHEAD_BYTES per entry) before new ones
   * spill to the spool. Default 16 MiB: about 10k typical events, or 64 of SQS's largest.
   */
  memoryLimitBytes?: number;
  spoolDir: string;
  /** Roll spool segments after this many lines or bytes (the durable backlog stores whole segments). */
  spoolSegmentLines?: number;
  spoolSegmentBytes?: number;
  /** Called with the name of every spool segment deleted. */
  onSegmentRemoved?: (name: string) => void;
  /**
   * Backlog bound: while the spool holds this many bytes, new events are refused (counted as
   * `BacklogOverflow`, logged) and `overflowingSinceMs` reports it, so the coverage ledger records the
   * interval as a gap. Gap messages are always taken. Default: unbounded.
   */
  maxBacklogBytes?: number;
  s3?: S3Client;
  offloadBucket?: string;
  /** Object key prefix for offloaded events. */
  offloadPrefix?: string;
  /**
   * The durable dead-letter destination (a standard SQS queue, sent to with `sqs`): a DeadLetterRecord for
   * each message that can go neither inline nor to the offload bucket. Without it, or when it refuses a
   * record, the message goes to `dead-letter.jsonl` in the spool directory only.
   */
  deadLetterQueueUrl?: string;
  /** Attempts and first retry delay of a dead-letter record send (default 5, 200 ms, doubling). */
  deadLetterRetry?: { attempts?: number; retryBaseMs?: number };
  onDeadLetter?: (entry: DeadLetterEntry, error: DeadLetterError) => void;
  metrics?: SinkMetrics;
  logger?: SinkLogger;
  now?: () => number;
  random?: () => number;
  /** SQS limits (lower them in tests; raise to 1 MiB for queues configured so). */
  maxMessageBytes?: number;
  maxBatchBytes?: number;
  /** Abort a SendMessageBatch/PutObject that takes longer than this. */
  requestTimeoutMs?: number;
  /** Backoff between failed attempts; default base 100 ms, cap 5 s, reset after 5 s of success. */
  retry?: BackoffOptions;
}
