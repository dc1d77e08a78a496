/** The small logging, metrics and dead-letter interfaces every part of the SQS sink takes. */
import type { QueuedMessage } from "../../shared/contracts.ts";
import type { CounterName, GaugeName, TimingName } from "../telemetry.ts";

export interface SinkMetrics {
  count(name: CounterName, n?: number): void;
  gauge(name: GaugeName, value: number): void;
  timing(name: TimingName, ms: number): void;
}

export interface SinkLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface DeadLetterEntry {
  message: QueuedMessage;
  sizeBytes: number;
}

export interface DeadLetterError {
  code: string;
  message: string;
}

const noop = (): void => {};
export const SILENT_LOGGER: SinkLogger = { debug: noop, info: noop, warn: noop, error: noop };
export const NO_METRICS: SinkMetrics = { count: noop, gauge: noop, timing: noop };
